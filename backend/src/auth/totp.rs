//! Time-based one-time passwords (RFC 6238) for authenticator apps: the
//! secret, the otpauth:// URI and its QR code, and verification with one step
//! of clock skew either way and no reuse of a step. Time is a parameter.

use base32::Alphabet;
use rand::RngCore;
use totp_rs::{Algorithm, Builder};

use crate::clock::UnixTime;

/// Seconds per step, as every authenticator app assumes.
pub const STEP_SECS: i64 = 30;
/// Steps accepted either side of now, for clocks that drift.
pub const SKEW_STEPS: i64 = 1;

/// A 20-byte (160-bit) TOTP secret. Never serialized; `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        TotpSecret(bytes)
    }

    /// RFC 4648 base32 without padding, as stored and as typed into an app.
    pub fn to_base32(&self) -> String {
        base32::encode(Alphabet::Rfc4648 { padding: false }, &self.0)
    }

    pub fn from_base32(s: &str) -> Option<Self> {
        let compact: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        base32::decode(Alphabet::Rfc4648 { padding: false }, &compact).map(TotpSecret)
    }

    /// The setup key as people type it: groups of four, e.g. `JBSW Y3DP …`.
    pub fn grouped(&self) -> String {
        self.to_base32()
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `otpauth://totp/Atrium:EMAIL?secret=…&issuer=Atrium&algorithm=SHA1&digits=6&period=30`
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP_SECS}",
            enc(issuer),
            enc(account),
            self.to_base32(),
            enc(issuer)
        )
    }

    /// The enrolment QR code of `uri`, as an SVG document.
    pub fn qr_svg(uri: &str) -> Option<String> {
        let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
        Some(
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(220, 220)
                .quiet_zone(true)
                .build(),
        )
    }
}

/// The code of `secret` at `time` with `digits` digits (6 in the product; 8 for the RFC vectors).
pub fn code_at(secret: &TotpSecret, digits: u8, time: UnixTime) -> Option<String> {
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits)
        .with_step_duration(STEP_SECS as u64)
        .with_secret(secret.0.clone())
        .build()
        .ok()?;
    Some(totp.generate(u64::try_from(time).ok()?).to_string())
}

/// Checks `code` at `now`, accepting the previous and next step too. Returns
/// the matched step, which the caller stores: a step at or before
/// `last_used_step` is refused, so a code (or an older one) works once.
pub fn verify(
    secret: &TotpSecret,
    digits: u8,
    code: &str,
    now: UnixTime,
    last_used_step: Option<i64>,
) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != digits as usize || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let current = now.div_euclid(STEP_SECS);
    (current - SKEW_STEPS..=current + SKEW_STEPS)
        .filter(|step| last_used_step.is_none_or(|last| *step > last))
        .find(|step| {
            code_at(secret, digits, step * STEP_SECS)
                .is_some_and(|expected| constant_time_eq(expected.as_bytes(), code.as_bytes()))
        })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec())
    }

    /// RFC 6238 appendix B, SHA1 rows.
    const RFC_VECTORS: [(i64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn rfc_6238_vectors_pass_our_verification() {
        for (time, code) in RFC_VECTORS {
            assert_eq!(
                code_at(&rfc_secret(), 8, time).as_deref(),
                Some(code),
                "t={time}"
            );
            let step = verify(&rfc_secret(), 8, code, time, None);
            assert_eq!(step, Some(time / 30), "t={time}");
        }
    }

    #[test]
    fn one_step_of_skew_either_way() {
        // A fixed secret and time, so the five neighbouring codes are known to differ.
        let s = rfc_secret();
        let now = 1_795_737_615; // mid-step
        let codes: Vec<String> = (-2..=2)
            .map(|d| code_at(&s, 6, now + 30 * d).unwrap())
            .collect();
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), 5, "{codes:?}");
        let step = now / 30;
        assert_eq!(verify(&s, 6, &codes[1], now, None), Some(step - 1));
        assert_eq!(verify(&s, 6, &codes[2], now, None), Some(step));
        assert_eq!(verify(&s, 6, &codes[3], now, None), Some(step + 1));
        assert_eq!(verify(&s, 6, &codes[0], now, None), None, "two steps old");
        assert_eq!(verify(&s, 6, &codes[4], now, None), None, "two steps ahead");
    }

    #[test]
    fn a_used_step_and_earlier_ones_are_refused() {
        let s = TotpSecret::generate();
        let now = 1_795_737_600;
        let code = code_at(&s, 6, now).unwrap();
        let step = verify(&s, 6, &code, now, None).unwrap();
        assert_eq!(verify(&s, 6, &code, now, Some(step)), None, "replay");
        let earlier = code_at(&s, 6, now - 30).unwrap();
        assert_eq!(
            verify(&s, 6, &earlier, now, Some(step)),
            None,
            "an older step"
        );
        let later = code_at(&s, 6, now + 30).unwrap();
        assert_eq!(verify(&s, 6, &later, now + 30, Some(step)), Some(step + 1));
    }

    #[test]
    fn malformed_codes_are_refused() {
        let s = TotpSecret::generate();
        for bad in ["", "12345", "1234567", "abcdef", "12 34 5x"] {
            assert_eq!(verify(&s, 6, bad, 1_795_737_600, None), None, "{bad:?}");
        }
        let code = code_at(&s, 6, 1_795_737_600).unwrap();
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert!(verify(&s, 6, &spaced, 1_795_737_600, None).is_some());
    }

    #[test]
    fn secrets_uris_and_qr() {
        let s = TotpSecret::generate();
        assert_eq!(s.0.len(), 20);
        assert_eq!(s.to_base32().len(), 32);
        assert_eq!(
            TotpSecret::from_base32(&s.grouped().to_lowercase()),
            Some(s.clone())
        );
        assert_eq!(s.grouped().split(' ').count(), 8);
        let uri = s.uri("Atrium", "ann+x@example.org");
        assert_eq!(
            uri,
            format!(
                "otpauth://totp/Atrium:ann%2Bx@example.org?secret={}&issuer=Atrium&algorithm=SHA1&digits=6&period=30",
                s.to_base32()
            )
        );
        let svg = TotpSecret::qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        assert!(!format!("{s:?}").contains(&s.to_base32()));
    }
}

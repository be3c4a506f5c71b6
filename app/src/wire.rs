//! How server functions' arguments and `vocab` words travel.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Every server function's arguments: `#[server(input = crate::wire::Form)]`.
/// A POST of `application/x-www-form-urlencoded` fields, as an HTML form
/// sends them without JavaScript, written and read with `serde_urlencoded`
/// (as `ui::ActionForm` reads a form's fields). Leptos's default
/// (`PostUrl`) is the same encoding through `serde_qs`, whose nested
/// fields no Atrium function takes; with both, the browser's bundle held
/// two URL encoders.
pub type Form = Post<UrlEncoded>;

/// `serde_urlencoded` as a server-function codec (see [`Form`]).
pub struct UrlEncoded;

impl ContentType for UrlEncoded {
    const CONTENT_TYPE: &'static str = "application/x-www-form-urlencoded";
}

impl FormatType for UrlEncoded {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for UrlEncoded {
    type Error = serde_urlencoded::ser::Error;

    fn encode(value: &T) -> Result<Bytes, Self::Error> {
        serde_urlencoded::to_string(value).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for UrlEncoded {
    type Error = serde_urlencoded::de::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        serde_urlencoded::from_bytes(&bytes)
    }
}

/// How `vocab` words travel in the wire types: as their stored form
/// (`"owner"`, `"sms"`), so the JSON reads as the database does. Use with
/// `#[serde(with = "crate::wire::word")]`.
pub mod word {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use vocab::Word;

    pub fn serialize<W: Word, S: Serializer>(word: &W, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(Word::as_str(*word))
    }

    pub fn deserialize<'de, W: Word, D: Deserializer<'de>>(d: D) -> Result<W, D::Error> {
        let raw = String::deserialize(d)?;
        <W as Word>::parse(&raw).ok_or_else(|| D::Error::custom(format!("unknown word \"{raw}\"")))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use vocab::{MfaMethod, Role};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        #[serde(with = "super::word")]
        role: Role,
        #[serde(with = "super::word")]
        method: MfaMethod,
    }

    #[test]
    fn words_travel_as_their_stored_form() {
        let s = Sample {
            role: Role::Admin,
            method: MfaMethod::Sms,
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"role":"admin","method":"sms"}"#);
        assert_eq!(serde_json::from_str::<Sample>(&json).unwrap(), s);
        let err = serde_json::from_str::<Sample>(r#"{"role":"king","method":"sms"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown word \"king\""), "{err}");
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Arguments {
        name: String,
        phone: Option<String>,
        remember: bool,
        #[serde(with = "super::word")]
        method: MfaMethod,
    }

    #[test]
    fn arguments_travel_as_a_browser_posts_a_form() {
        use super::UrlEncoded;
        use leptos::server_fn::{Bytes, Decodes, Encodes};

        let args = Arguments {
            name: "Ana María & co".into(),
            phone: None,
            remember: true,
            method: MfaMethod::Authenticator,
        };
        let body = <UrlEncoded as Encodes<Arguments>>::encode(&args).unwrap();
        assert_eq!(
            &body[..],
            b"name=Ana+Mar%C3%ADa+%26+co&remember=true&method=authenticator"
        );
        let back: Arguments = <UrlEncoded as Decodes<Arguments>>::decode(body).unwrap();
        assert_eq!(back, args);
        // What a form posts without JavaScript: %20 for a space, an empty
        // optional field, a field the function does not take.
        let posted =
            Bytes::from_static(b"name=Ana%20Mar%C3%ADa&phone=&remember=false&method=email&extra=1");
        let read: Arguments = <UrlEncoded as Decodes<Arguments>>::decode(posted).unwrap();
        assert_eq!(read.name, "Ana María");
        assert_eq!(read.phone.as_deref(), Some(""));
        assert!(!read.remember);
        let missing = <UrlEncoded as Decodes<Arguments>>::decode(Bytes::from_static(b"name=x"))
            .map(|_: Arguments| ());
        assert!(missing.unwrap_err().to_string().contains("missing field"));
    }
}

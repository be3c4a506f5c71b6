//! Phone numbers: typed in national or international form with a country
//! picker, stored in E.164 (`+447400123456`), shown in international format
//! (`+44 7400 123456`). Parsing and validity come from libphonenumber's
//! metadata (the `phonenumber` crate), which stays on the server.

use phonenumber::metadata::DATABASE;
use phonenumber::Mode;

use crate::FieldError;

/// A valid number in its stored and displayed forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone {
    /// `+447400123456`
    pub e164: String,
    /// `+44 7400 123456`
    pub international: String,
    /// ISO 3166 code of the number's region, e.g. `GB`.
    pub region: Option<String>,
}

/// One entry of the country picker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166 alpha-2, e.g. `GB`.
    pub code: &'static str,
    pub name: &'static str,
    /// Calling code without the plus, e.g. 44.
    pub calling_code: u16,
}

/// Optional: empty input means "no phone". Otherwise the number must parse
/// and be a valid number for its region. A number without a leading `+` (or
/// `00`) is read as a national number of `country`.
pub fn parse(raw: &str, country: &str) -> Result<Option<Phone>, FieldError> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let err = |m: String| FieldError::new("phone", m);
    let allowed = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.' | '/');
    let body = v.strip_prefix('+').unwrap_or(v);
    if !body.chars().all(allowed) {
        return Err(err(
            "A phone number can contain only digits, spaces, ( ) - . / and a leading +.".into(),
        ));
    }
    let region = country_by_code(country);
    let international = v.starts_with('+') || v.starts_with("00");
    if region.is_none() && !international {
        return Err(err(
            "Choose the country of this number, or type it with its country code (+…).".into(),
        ));
    }
    let id = region.and_then(|c| c.code.parse::<phonenumber::country::Id>().ok());
    let where_ = |n: &phonenumber::PhoneNumber| {
        n.country()
            .id()
            .and_then(|id| country_by_code(id.as_ref()))
            .or(region)
            .map(|c| c.name)
            .unwrap_or("that country")
    };
    let number = phonenumber::parse(id, v).map_err(|e| {
        use phonenumber::ParseError as P;
        err(match e {
            P::TooShortNsn | P::TooShortAfterIdd | P::NoNumber => {
                "This phone number is too short.".into()
            }
            P::TooLong => "This phone number is too long.".into(),
            P::InvalidCountryCode => "This country code (+…) does not exist.".into(),
            _ => "This is not a phone number.".into(),
        })
    })?;
    if !phonenumber::is_valid(&number) {
        let digits = number.national().value().to_string().len();
        let lengths = number
            .country()
            .id()
            .and_then(|id| DATABASE.by_id(id.as_ref()))
            .or_else(|| region.and_then(|c| DATABASE.by_id(c.code)))
            .map(|m| {
                let d = m.descriptors();
                let mut all = d.general().possible_length().to_vec();
                for kind in [d.fixed_line(), d.mobile()].into_iter().flatten() {
                    all.extend_from_slice(kind.possible_length());
                }
                all
            })
            .unwrap_or_default();
        let msg = match (lengths.iter().min(), lengths.iter().max()) {
            (Some(&min), _) if digits < usize::from(min) => {
                "This phone number is too short.".into()
            }
            (_, Some(&max)) if digits > usize::from(max) => {
                format!("This number is too long for {}.", where_(&number))
            }
            _ => format!("This is not a valid number for {}.", where_(&number)),
        };
        return Err(err(msg));
    }
    Ok(Some(Phone {
        e164: number.format().mode(Mode::E164).to_string(),
        international: number.format().mode(Mode::International).to_string(),
        region: number.country().id().map(|id| id.as_ref().to_string()),
    }))
}

/// How a stored E.164 number is shown: `+44 7400 123456`. Numbers stored
/// before E.164 parsing existed are shown as they were typed.
pub fn display(stored: &str) -> String {
    match phonenumber::parse(None, stored) {
        Ok(n) if phonenumber::is_valid(&n) => n.format().mode(Mode::International).to_string(),
        _ => stored.to_string(),
    }
}

/// The region of a stored number, for preselecting the country picker.
pub fn region_of(stored: &str) -> Option<String> {
    let n = phonenumber::parse(None, stored).ok()?;
    n.country().id().map(|id| id.as_ref().to_string())
}

/// The country a browser's `Accept-Language` header points at
/// (`en-GB,en;q=0.9` → `GB`), if any of its tags names one we know.
pub fn country_from_accept_language(header: &str) -> Option<&'static str> {
    header
        .split(',')
        .filter_map(|part| part.split(';').next())
        .filter_map(|tag| tag.trim().split(['-', '_']).nth(1))
        .find_map(|region| country_by_code(region).map(|c| c.code))
}

/// Every country libphonenumber knows, by name.
pub fn countries() -> &'static [Country] {
    static LIST: std::sync::OnceLock<Vec<Country>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        let mut list: Vec<Country> = isocountry::CountryCode::as_array()
            .iter()
            .filter_map(|c| {
                let meta = DATABASE.by_id(c.alpha2())?;
                Some(Country {
                    code: c.alpha2(),
                    name: short_name(c.alpha2()).unwrap_or(c.name()),
                    calling_code: meta.country_code(),
                })
            })
            .collect();
        list.sort_by_cached_key(|c| sort_key(c.name));
        list
    })
}

/// Alphabetical order as people expect it: "Åland" with the A's, "Réunion"
/// before "Romania".
fn sort_key(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'À'..='Å' => 'A',
            'Ç' => 'C',
            'È'..='Ë' => 'E',
            'Ì'..='Ï' => 'I',
            'Ò'..='Ö' => 'O',
            'Ù'..='Ü' => 'U',
            'à'..='å' => 'a',
            'ç' => 'c',
            'è'..='ë' => 'e',
            'ì'..='ï' => 'i',
            'ò'..='ö' => 'o',
            'ù'..='ü' => 'u',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

fn country_by_code(code: &str) -> Option<&'static Country> {
    let code = code.trim();
    countries()
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code))
}

/// The names people use where ISO's official ones are long.
fn short_name(alpha2: &str) -> Option<&'static str> {
    Some(match alpha2 {
        "BO" => "Bolivia",
        "BN" => "Brunei",
        "FM" => "Micronesia",
        "GB" => "United Kingdom",
        "IR" => "Iran",
        "KP" => "North Korea",
        "KR" => "South Korea",
        "LA" => "Laos",
        "MD" => "Moldova",
        "RU" => "Russia",
        "SY" => "Syria",
        "TW" => "Taiwan",
        "TZ" => "Tanzania",
        "US" => "United States",
        "VE" => "Venezuela",
        "VN" => "Vietnam",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str, country: &str) -> Phone {
        parse(raw, country).unwrap().unwrap()
    }

    fn msg(raw: &str, country: &str) -> String {
        parse(raw, country).unwrap_err().message
    }

    #[test]
    fn national_and_international_forms_become_e164() {
        assert_eq!(ok("07400 123456", "GB").e164, "+447400123456");
        assert_eq!(ok("07400 123456", "GB").international, "+44 7400 123456");
        assert_eq!(ok("(415) 555-2671", "US").e164, "+14155552671");
        // A leading + overrides the picker.
        assert_eq!(ok("+49 30 901820", "US").e164, "+4930901820");
        assert_eq!(ok("+49 30 901820", "US").region.as_deref(), Some("DE"));
        assert_eq!(ok("0049 30 901820", "DE").e164, "+4930901820");
        assert_eq!(parse("   ", "GB").unwrap(), None);
    }

    #[test]
    fn invalid_numbers_say_why() {
        assert_eq!(msg("12", "GB"), "This phone number is too short.");
        assert_eq!(
            msg("04444 444444", "GB"),
            "This is not a valid number for United Kingdom."
        );
        assert!(
            msg("415 555 2671 1234", "US").contains("too long for United States"),
            "{}",
            msg("415 555 2671 1234", "US")
        );
        assert!(msg("phone me", "US").contains("only digits"));
        assert!(msg("555 0100", "").contains("Choose the country"));
        assert_eq!(parse("12", "GB").unwrap_err().field, "phone");
    }

    #[test]
    fn stored_numbers_are_displayed_internationally() {
        assert_eq!(display("+14155552671"), "+1 415-555-2671");
        assert_eq!(display("not parsed"), "not parsed");
        assert_eq!(region_of("+447400123456").as_deref(), Some("GB"));
    }

    #[test]
    fn countries_have_names_and_calling_codes() {
        let list = countries();
        assert!(list.len() > 200, "{}", list.len());
        let gb = list.iter().find(|c| c.code == "GB").unwrap();
        assert_eq!((gb.name, gb.calling_code), ("United Kingdom", 44));
        let names: Vec<&str> = list.iter().map(|c| c.name).collect();
        let position = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(position("Åland Islands") < position("Albania"));
        assert!(position("Réunion") < position("Romania"));
        assert!(position("Afghanistan") < position("Zimbabwe"));
        assert_eq!(country_from_accept_language("en-GB,en;q=0.9"), Some("GB"));
        assert_eq!(country_from_accept_language("fr;q=0.9, de-at"), Some("AT"));
        assert_eq!(country_from_accept_language("en"), None);
    }
}

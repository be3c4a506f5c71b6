//! How `vocab` words travel in the wire types: as their stored form
//! (`"owner"`, `"sms"`), so the JSON reads as the database does. Use with
//! `#[serde(with = "crate::wire::word")]`.

pub mod word {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use vocab::Word;

    pub fn serialize<W: Word, S: Serializer>(word: &W, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(Word::as_str(*word))
    }

    pub fn deserialize<'de, W: Word, D: Deserializer<'de>>(d: D) -> Result<W, D::Error> {
        let raw = String::deserialize(d)?;
        <W as Word>::parse(&raw).ok_or_else(|| D::Error::custom(format!("unknown word {raw:?}")))
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
}

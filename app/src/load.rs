//! Data a page loads from the server while it renders: Leptos resources
//! whose values the server writes into the page as JSON for hydration.
//!
//! Leptos's own `Resource::new_blocking` decodes that JSON with
//! `serde_json::from_str`, while server functions decode their answers with
//! `serde_json::from_slice`: two readers, so two copies of the JSON decoder
//! and of every type's decoding in the WASM. [`Json`] reads the page's JSON
//! as bytes too, so each type is decoded by one copy.

use std::future::Future;

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::AppError;

/// JSON for a resource's value, read as bytes like a server function's
/// answer.
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(encoded: &str) -> Result<T, serde_json::Error> {
        serde_json::from_slice(encoded.as_bytes())
    }
}

/// What a page loads with a server function.
pub type Data<T> = Resource<Result<T, AppError>, Json>;

/// A resource the page waits for before it is sent (Leptos's
/// `Resource::new_blocking`), with its value in [`Json`].
#[track_caller]
pub fn blocking<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T, Json>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_comes_back_as_it_went() {
        let value: Result<Option<String>, AppError> = Ok(Some("Ada \"Lovelace\" ✓".into()));
        let encoded = <Json as Encoder<_>>::encode(&value).expect("encodes");
        let decoded: Result<Option<String>, AppError> = Json::decode(&encoded).expect("decodes");
        assert_eq!(decoded, value);
        let refused: Result<Option<String>, AppError> = Err(AppError::RateLimited {
            retry_after_secs: 60,
        });
        let encoded = <Json as Encoder<_>>::encode(&refused).expect("encodes");
        assert_eq!(Json::decode(&encoded).ok(), Some(refused));
        assert!(<Json as Decoder<Option<String>>>::decode("{not json").is_err());
    }
}

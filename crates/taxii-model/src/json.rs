//! I-JSON checks (RFC 7493): member names must be unique within an object. serde_json keeps the
//! last of duplicate names silently, so stored text that has them would be served with them,
//! and a configuration with two API roots of the same name would lose one unnoticed.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

struct Unique;

impl<'de> DeserializeSeed<'de> for Unique {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Unique)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if !seen.insert(key.to_string()) {
                return Err(de::Error::custom(format_args!(
                    "the member name '{key}' appears twice in one object"
                )));
            }
            map.next_value_seed(Unique)?;
        }
        Ok(())
    }
}

/// Checks that `text` is JSON whose objects have unique member names.
pub fn check_unique_names(text: &str) -> Result<(), String> {
    let mut d = serde_json::Deserializer::from_str(text);
    Unique.deserialize(&mut d).map_err(|e| e.to_string())?;
    d.end().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_pass_at_every_depth() {
        assert!(
            check_unique_names(r#"{"a":1,"b":{"a":2,"c":[{"a":3},{"a":4}]},"d":"\"x"}"#).is_ok()
        );
        assert!(check_unique_names("[1,2,null,true]").is_ok());
    }

    #[test]
    fn a_repeated_name_is_found_anywhere() {
        let e = check_unique_names(r#"{"a":1,"a":2}"#).unwrap_err();
        assert!(e.contains("'a' appears twice"), "{e}");
        assert!(check_unique_names(r#"{"x":[{"k":1,"k":1}]}"#).is_err());
        assert!(check_unique_names(r#"{"x":{"a\u0062":1,"ab":2}}"#).is_err());
        assert!(check_unique_names(r#"{"a":1} trailing"#).is_err());
    }
}

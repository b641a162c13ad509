//! JSON numbers as the OpenAPI document (JSON Schema 2020-12) reads them:
//! an `integer` is any number without a fractional part, so `2.0` is the
//! integer 2. A client that writes its counts as floats (Python's
//! `json.dumps(2.0)`, a spreadsheet export) sends what the document calls
//! valid, and the server takes it; `2.5` and numbers past what a float
//! holds exactly are refused.

use serde::{Deserialize, Deserializer};

/// The largest magnitude a float holds every whole number up to (2^53):
/// beyond it `9007199254740993.0` would silently be another number.
const EXACT_FLOAT: f64 = 9_007_199_254_740_992.0;

/// The whole number `n` is, if it is one.
pub fn whole_number(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() <= EXACT_FLOAT)
            .map(|f| f as i64)
    })
}

/// `#[serde(deserialize_with = "json::integer")]` for an `i64` field.
pub fn integer<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    whole_number(&n).ok_or_else(|| serde::de::Error::custom(format!("{n} is not an integer")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Count {
        #[serde(deserialize_with = "integer")]
        n: i64,
    }

    fn n(json: &str) -> Result<i64, String> {
        serde_json::from_str::<Count>(&format!("{{\"n\": {json}}}"))
            .map(|c| c.n)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn whole_floats_are_integers_and_fractions_are_not() {
        assert_eq!(n("2"), Ok(2));
        assert_eq!(n("2.0"), Ok(2));
        assert_eq!(n("-3.0"), Ok(-3));
        assert_eq!(n("1e3"), Ok(1000));
        assert_eq!(n("9223372036854775807"), Ok(i64::MAX));
        assert!(n("2.5").unwrap_err().contains("2.5 is not an integer"));
        assert!(n("1e300").is_err(), "past exact floats");
        assert!(n("9007199254740994.0").is_err());
        assert!(n("18446744073709551616").is_err(), "past i64");
        assert!(n("\"2\"").is_err(), "a string is not a number");
        assert!(n("null").is_err());
    }
}

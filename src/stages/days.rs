//! A span of days as a pipeline writes it: `90d`, or a bare number of days.

use serde::{Deserialize, Deserializer, de};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Days(pub u32);

impl Days {
    /// As written in column names: `90d`.
    pub fn label(self) -> String {
        format!("{}d", self.0)
    }
}

impl<'de> Deserialize<'de> for Days {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Number(u32),
            Text(String),
        }
        let days = match Written::deserialize(d)? {
            Written::Number(n) => Some(n),
            Written::Text(t) => t.trim().strip_suffix('d').and_then(|n| n.trim().parse().ok()),
        };
        match days {
            Some(n) if n > 0 => Ok(Days(n)),
            _ => Err(de::Error::custom("expected a number of days such as 90d")),
        }
    }
}

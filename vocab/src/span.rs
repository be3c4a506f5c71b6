//! A length of time that pages can say.

use std::fmt;

/// A whole number of minutes, hours or days; `Display` writes it as a
/// person would ("30 minutes", "1 hour", "7 days").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    count: i64,
    unit: Unit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Minute,
    Hour,
    Day,
}

impl Span {
    pub const fn minutes(count: i64) -> Self {
        Span {
            count,
            unit: Unit::Minute,
        }
    }

    pub const fn hours(count: i64) -> Self {
        Span {
            count,
            unit: Unit::Hour,
        }
    }

    pub const fn days(count: i64) -> Self {
        Span {
            count,
            unit: Unit::Day,
        }
    }

    /// In seconds, as the server's clock counts.
    pub const fn secs(self) -> i64 {
        self.count
            * match self.unit {
                Unit::Minute => 60,
                Unit::Hour => 3600,
                Unit::Day => 86_400,
            }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            Unit::Minute => "minute",
            Unit::Hour => "hour",
            Unit::Day => "day",
        };
        let plural = if self.count == 1 { "" } else { "s" };
        write!(f, "{} {unit}{plural}", self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_and_plural() {
        assert_eq!(Span::hours(1).to_string(), "1 hour");
        assert_eq!(Span::minutes(10).to_string(), "10 minutes");
        assert_eq!(Span::days(7).secs(), 604_800);
    }
}

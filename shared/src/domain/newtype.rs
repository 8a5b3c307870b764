//! Boilerplate for validated string newtypes.

/// Implements the conversions of a validated string newtype `struct T(String)`
/// that has an inherent `fn parse(&str) -> Result<T, DomainError>`:
///
/// - always `TryFrom<String>` (via `T::parse`) and `From<T> for String`, which
///   back `#[serde(try_from = "String", into = "String")]`;
/// - `FromStr` (via `T::parse`) if `FromStr` is listed;
/// - `Display` (the plain value) if `Display` is listed.
///
/// `Debug` is never generated, so types may derive it or mask it by hand.
///
/// ```ignore
/// validated_string!(Email: FromStr, Display);
/// ```
macro_rules! validated_string {
    ($t:ident $(: $($extra:ident),+ $(,)?)?) => {
        impl ::core::convert::TryFrom<::std::string::String> for $t {
            type Error = $crate::domain::DomainError;

            fn try_from(s: ::std::string::String) -> ::core::result::Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl ::core::convert::From<$t> for ::std::string::String {
            fn from(value: $t) -> ::std::string::String {
                value.0
            }
        }

        $($($crate::domain::newtype::validated_string!(@$extra $t);)+)?
    };
    (@FromStr $t:ident) => {
        impl ::core::str::FromStr for $t {
            type Err = $crate::domain::DomainError;

            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
    (@Display $t:ident) => {
        impl ::core::fmt::Display for $t {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use validated_string;

//! Typed domain values: status enums stored as their strings and id newtypes, so a wrong
//! status string or a swapped id fails to compile instead of at runtime.
//!
//! Both macros stay free of diesel: repos convert at the edge (`.as_str()` / `TryFrom<String>`
//! for statuses, `.get()` / `From<i64>` for ids).

use std::fmt;

/// A stored string that names no variant of the enum it was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.kind, self.value)
    }
}

impl std::error::Error for UnknownValue {}

/// `a, b or c`.
pub fn choices<'a>(all: impl IntoIterator<Item = &'a str>) -> String {
    let all: Vec<&str> = all.into_iter().collect();
    match all.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => all.join(""),
    }
}

/// Enums (one or more a call) stored (DB) and sent (JSON, OpenAPI) as the same strings they always were:
/// `as_str()`, `ALL`, `choices()`, `Display`, `FromStr`, `TryFrom<String>`, serde and `ToSchema`.
/// Variants are written `Name = "string"`; the strings feed serde's `rename`, which utoipa
/// reads too. They are taken as `tt`: a `literal` fragment reaches utoipa wrapped in an
/// invisible group it does not read, and the schema would show the variant names.
#[macro_export]
macro_rules! stored_enum {
    ($(
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $s:tt),+ $(,)?
        }
    )+) => {$(
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $s)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $s),+
                }
            }

            /// `a, b or c`, for error messages.
            pub fn choices() -> String {
                $crate::values::choices(Self::ALL.iter().map(|v| v.as_str()))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::values::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok($name::$variant),)+
                    _ => Err($crate::values::UnknownValue { kind: stringify!($name), value: s.to_string() }),
                }
            }
        }

        impl ::std::convert::TryFrom<String> for $name {
            type Error = $crate::values::UnknownValue;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str {
                v.as_str()
            }
        }
    )+};
}

/// An `i64` id newtype: JSON and OpenAPI see a plain integer, code sees a type that does
/// not mix with other ids. Build one with `From<i64>`, read it with `.get()`.
#[macro_export]
macro_rules! id_type {
    ($(#[$meta:meta])* $vis:vis struct $name:ident;) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[schema(value_type = i64)]
        $vis struct $name(i64);

        impl $name {
            pub const fn new(id: i64) -> Self {
                $name(id)
            }

            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                $name(id)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        // The bare number: `#[tracing::instrument]` records arguments with Debug, and log
        // fields stay what they were while ids were i64.
        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(&self.0, f)
            }
        }
    };
}

id_type! {
    /// An account (buyer, seller, streamer, admin).
    pub struct AccountId;
}

id_type! {
    /// A point charge (payment).
    pub struct ChargeId;
}

id_type! {
    /// A payout to a bank account (payment).
    pub struct PayoutId;
}

id_type! {
    /// A mission (mission).
    pub struct MissionId;
}

id_type! {
    /// An order (order checkout).
    pub struct OrderId;
}

id_type! {
    /// A product (order catalog).
    pub struct ProductId;
}

id_type! {
    /// An item of a product: what a cart and an order line hold (order catalog).
    pub struct ItemId;
}

#[cfg(test)]
mod tests {
    stored_enum! {
        enum Light {
            Red = "red",
            Amber = "amber_light",
        }
    }

    id_type! {
        struct ThingId;
    }

    #[test]
    fn stored_enums_round_trip_through_their_strings() {
        for l in Light::ALL {
            assert_eq!(l.as_str().parse::<Light>(), Ok(*l));
            assert_eq!(serde_json::to_string(l).ok(), Some(format!("\"{l}\"")));
        }
        assert_eq!(Light::try_from("amber_light".to_string()), Ok(Light::Amber));
        assert!("Red".parse::<Light>().is_err());
        assert_eq!(Light::choices(), "red or amber_light");
        assert_eq!(super::choices(["a", "b", "c"]), "a, b or c");
        assert_eq!(super::choices(["a"]), "a");
    }

    #[test]
    fn ids_are_plain_integers_on_the_wire() {
        let id = ThingId::from(7);
        assert_eq!(ThingId::new(7), id);
        assert_eq!(serde_json::to_string(&id).ok().as_deref(), Some("7"));
        assert_eq!(serde_json::from_str::<ThingId>("7").ok(), Some(id));
        assert_eq!((id.get(), id.to_string()), (7, "7".to_string()));
    }
}

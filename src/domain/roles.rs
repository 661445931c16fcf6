//! Roles, statuses and other closed lists stored as text, with their order where order means
//! authority.

use std::fmt;
use std::str::FromStr;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal, $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
        #[diesel(sql_type = Text)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The word shown to people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("unknown {}: {other:?}", stringify!($name))),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql<Text, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                use std::io::Write;
                out.write_all(self.as_str().as_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<Text, Pg> for $name {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, Pg>>::from_sql(value)?;
                Ok(text.parse()?)
            }
        }
    };
}

text_enum!(
    /// Organization roles, declared lowest first so that `Ord` is authority.
    #[derive(PartialOrd, Ord)]
    OrgRole {
        Member => "member", "Member",
        Admin => "admin", "Admin",
        Owner => "owner", "Owner",
    }
);

text_enum!(PlatformRole {
    User => "user", "User",
    SuperAdmin => "super_admin", "Super administrator",
});

text_enum!(UserStatus {
    Active => "active", "Active",
    Disabled => "disabled", "Disabled",
});

text_enum!(
    /// What became of an invitation. A pending invitation past its `expires_at` is shown as
    /// expired before anything stores it (inviting the email again does).
    InvitationStatus {
        Pending => "pending", "Invited",
        Accepted => "accepted", "Joined",
        Cancelled => "cancelled", "Cancelled",
        Expired => "expired", "Expired",
    }
);

text_enum!(
    /// Team roles (seed 002), declared lowest first so that `Ord` is authority. Separate from
    /// organization roles: an organization admin may be a team's viewer.
    #[derive(PartialOrd, Ord)]
    TeamRole {
        Viewer => "viewer", "Viewer",
        Member => "member", "Member",
        Moderator => "moderator", "Moderator",
        Admin => "admin", "Admin",
        Owner => "owner", "Owner",
    }
);

text_enum!(TeamStatus {
    Active => "active", "Active",
    Deactivated => "deactivated", "Deactivated",
});

text_enum!(TokenKind {
    Inference => "inference", "Inference",
    Embedding => "embedding", "Embedding",
});

text_enum!(
    /// The LLM providers an organization can hold keys for (seed 000): the one list, in the
    /// order the Add key form offers them. The slugs are those of the model catalogue.
    Provider {
        OpenAi => "openai", "OpenAI",
        Anthropic => "anthropic", "Anthropic",
        Google => "google", "Google Gemini",
        AzureOpenAi => "azure-openai", "Azure OpenAI",
        Mistral => "mistral", "Mistral",
        Cohere => "cohere", "Cohere",
        Groq => "groq", "Groq",
        DeepSeek => "deepseek", "DeepSeek",
        XAi => "xai", "xAI",
        TogetherAi => "together", "Together AI",
        AmazonBedrock => "amazon-bedrock", "Amazon Bedrock",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_authority() {
        assert!(OrgRole::Owner > OrgRole::Admin && OrgRole::Admin > OrgRole::Member);
    }

    #[test]
    fn text_round_trips() {
        for role in OrgRole::ALL {
            assert_eq!(role.as_str().parse::<OrgRole>(), Ok(*role));
        }
        assert!("root".parse::<OrgRole>().is_err());
    }
}

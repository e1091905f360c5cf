//! Enums that are stored and sent as fixed words (`status = 'on_hold'`, `?view=mine`).
//!
//! One macro declares such an enum with everything it needs: its words and labels, `ALL`,
//! `FromStr` with the message a form shows for anything else, `Display`, and the Any
//! driver's `Type`, `Encode` and `Decode` as text, so that it binds as itself and rows
//! decode straight into read models (a stored word that no variant knows is a decode
//! error, never a silent default).

/// `stored_enum!(/// doc  pub enum Status { Open => "open", "Open"; … } else "Choose a valid status.");`
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $word:literal, $label:literal;)*
        } else $refusal:literal
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name { $($(#[$variant_meta])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The word stored and sent for it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),* }
            }

            /// What people read.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),* }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;

            fn from_str(input: &str) -> Result<Self, String> {
                match input { $($word => Ok($name::$variant),)* _ => Err($refusal.to_string()) }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::sqlx::Type<::sqlx::Any> for $name {
            fn type_info() -> ::sqlx::any::AnyTypeInfo {
                <str as ::sqlx::Type<::sqlx::Any>>::type_info()
            }
        }

        impl<'q> ::sqlx::Encode<'q, ::sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buffer: &mut <::sqlx::Any as ::sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<::sqlx::encode::IsNull, ::sqlx::error::BoxDynError> {
                <&str as ::sqlx::Encode<'q, ::sqlx::Any>>::encode(self.as_str(), buffer)
            }
        }

        impl<'r> ::sqlx::Decode<'r, ::sqlx::Any> for $name {
            fn decode(value: ::sqlx::any::AnyValueRef<'r>) -> Result<Self, ::sqlx::error::BoxDynError> {
                let word = <String as ::sqlx::Decode<'r, ::sqlx::Any>>::decode(value)?;
                word.parse().map_err(|_| format!("stored {} {word:?} is not one we know", stringify!($name)).into())
            }
        }
    };
}

pub(crate) use stored_enum;

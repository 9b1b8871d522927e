//! Enums named by a word: a flag's value (`--layer aead`), a report's field,
//! a column of the demo. The library says which words there are and what
//! each means; the app offers them on its command line (it alone knows
//! clap), and every user parses them with `FromStr`.

use std::fmt;

/// An enum whose values are named by a word.
pub trait Named: Sized + Copy + 'static {
    /// Every value, in the order a help text lists them.
    const ALL: &'static [Self];

    /// The value's word (`aead`, `substitute-key`).
    fn name(self) -> &'static str;

    /// What the value means, in one line, for a help text.
    fn about(self) -> &'static str;
}

/// A word that names no value of an enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{given}' is none of: {expected}")]
pub struct UnknownName {
    given: String,
    expected: String,
}

/// The value of `T` that `word` names: every `Named` enum's `FromStr`.
pub fn parse<T: Named>(word: &str) -> Result<T, UnknownName> {
    T::ALL
        .iter()
        .copied()
        .find(|value| value.name() == word)
        .ok_or_else(|| UnknownName {
            given: word.chars().take(64).collect(),
            expected: names::<T>().to_string(),
        })
}

/// Every word of `T`, comma-separated.
pub fn names<T: Named>() -> impl fmt::Display {
    struct Names<T>(std::marker::PhantomData<T>);
    impl<T: Named> fmt::Display for Names<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            for (i, value) in T::ALL.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                f.write_str(value.name())?;
            }
            Ok(())
        }
    }
    Names::<T>(std::marker::PhantomData)
}

/// Declares an enum with its [`Named`] words, so that its list of values
/// ([`Named::ALL`]) cannot miss one: each variant is written once, with its
/// word and its line of help.
///
/// ```
/// chat::named_enum! {
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub enum Colour {
///         Red = "red", "the colour of blood",
///         DarkBlue = "dark-blue", "the colour of the night",
///     }
/// }
/// assert_eq!("dark-blue".parse(), Ok(Colour::DarkBlue));
/// ```
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident = $word:literal, $about:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $crate::Named for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];

            fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }

            fn about(self) -> &'static str {
                match self {
                    $(Self::$variant => $about,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::UnknownName;

            fn from_str(word: &str) -> Result<Self, Self::Err> {
                $crate::named::parse(word)
            }
        }
    };
}

pub(crate) use crate::named_enum;

#[cfg(test)]
mod tests {
    use crate::Named;

    named_enum! {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Colour {
            Red = "red", "the colour of blood",
            DarkBlue = "dark-blue", "the colour of the night",
        }
    }

    #[test]
    fn every_value_is_listed_and_parses_back_from_its_word() {
        assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue]);
        for &colour in Colour::ALL {
            assert_eq!(colour.name().parse::<Colour>(), Ok(colour));
        }
        assert_eq!(Colour::DarkBlue.about(), "the colour of the night");
    }

    #[test]
    fn an_unknown_word_names_the_known_ones() {
        let error = "green".parse::<Colour>().unwrap_err();
        assert_eq!(error.to_string(), "'green' is none of: red, dark-blue");
    }
}

//! People's names (氏名) as kura compares them.
//!
//! A name is typed by hand, on Japanese keyboards, into a policy, onto a
//! command line and into a request: 「山田　太郎」 with an ideographic space
//! (U+3000), 「山田 太郎」 with an ASCII one, ｆｕｌｌ-ｗｉｄｔｈ latin from an IME,
//! a tab pasted from a spreadsheet. They name the same person, and a rule
//! that tells them apart either refuses the right person or, worse, lets one
//! person pass as two (self-approval). So every comparison of names goes
//! through [`normalize`]: Unicode NFKC (which folds full-width and
//! compatibility forms), then every run of whitespace as one ASCII space,
//! trimmed. Case is kept: NFKC does not fold it, and neither do we.
//!
//! What is *recorded* stays as registered in the policy; normalisation only
//! decides whether two spellings are one name.

use unicode_normalization::UnicodeNormalization;

/// The form of `name` that comparisons use: NFKC, every run of Unicode
/// whitespace collapsed to one ASCII space, leading and trailing whitespace
/// removed.
pub fn normalize(name: &str) -> String {
    let nfkc: String = name.nfkc().collect();
    nfkc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether two spellings name the same person after [`normalize`].
pub fn same_person(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ideographic_space_is_an_ascii_space() {
        assert!(same_person("山田\u{3000}太郎", "山田 太郎"));
        assert_eq!(normalize("山田\u{3000}太郎"), "山田 太郎");
    }

    #[test]
    fn full_width_latin_and_digits_are_ascii() {
        assert_eq!(normalize("ｓｃｈｅｄｕｌｅｄ－ｔａｓｋ"), "scheduled-task");
        assert_eq!(normalize("Ｙａｍａｄａ　Ｔａｒｏ２"), "Yamada Taro2");
        assert!(same_person("ＹＡＭＡＤＡ", "YAMADA"));
    }

    #[test]
    fn half_width_katakana_is_full_width() {
        assert!(same_person("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"));
    }

    #[test]
    fn leading_trailing_and_inner_runs_of_whitespace_collapse() {
        assert_eq!(normalize("  山田 \t\u{3000} 太郎\n"), "山田 太郎");
        assert_eq!(normalize("\t札幌\u{00A0}花子 "), "札幌 花子");
        assert_eq!(normalize(" \u{3000}\t"), "");
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn different_people_stay_different() {
        assert!(!same_person("山田 太郎", "山田 花子"));
        assert!(
            !same_person("山田太郎", "山田 太郎"),
            "a space is part of a name"
        );
        assert!(!same_person("yamada", "Yamada"), "case is kept");
    }
}

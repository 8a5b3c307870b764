//! Plural rules: which form a count takes in each language vigie writes.
//!
//! Whole numbers only, after CLDR's cardinal rules: French takes the singular for 0 and 1
//! ("0 voisin prévenu", "1 voisin"), English only for 1 ("0 neighbours", "1 neighbour").

use super::keyword::Language;

impl Language {
    /// Whether a count of `n` takes the plural form.
    #[must_use]
    pub fn is_plural(self, n: usize) -> bool {
        match self {
            Language::French => n > 1,
            Language::English => n != 1,
        }
    }

    /// `one` or `other`, the form a count of `n` takes.
    #[must_use]
    pub fn plural<'a>(self, n: usize, one: &'a str, other: &'a str) -> &'a str {
        if self.is_plural(n) { other } else { one }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_one_two() {
        let fr = |n| format!("{n} {}", Language::French.plural(n, "voisin", "voisins"));
        let en = |n| format!("{n} {}", Language::English.plural(n, "neighbour", "neighbours"));
        assert_eq!([fr(0), fr(1), fr(2)], ["0 voisin", "1 voisin", "2 voisins"]);
        assert_eq!([en(0), en(1), en(2)], ["0 neighbours", "1 neighbour", "2 neighbours"]);
        assert!(Language::French.is_plural(1_000) && Language::English.is_plural(1_000));
    }
}

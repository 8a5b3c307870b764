//! The wording of an alert: which words of it name a person's origin, nationality or religion
//! ([`origin_terms`]). Such an alert is not refused; the confirmation step asks for what, where,
//! when and which direction instead: a behaviour helps neighbours, an origin does not, and can
//! hurt (the gendarmerie's advice; the failing that alert groups are known for).

use std::sync::LazyLock;

use super::keyword::{fold, words};

/// The list, one term a line (`shared/src/domain/origin-words.txt`).
const LIST: &str = include_str!("origin-words.txt");

/// The terms as matched (folded: lower case, no accents), each as its words.
static TERMS: LazyLock<Vec<Vec<String>>> = LazyLock::new(|| {
    LIST.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| words(&fold(line)).map(str::to_owned).collect())
        .collect()
});

/// Whether `word` is `term`, or its plural or feminine (`+s`, `+e`, `+es`, `+x`).
fn is_form_of(word: &str, term: &str) -> bool {
    word.strip_prefix(term).is_some_and(|rest| matches!(rest, "" | "s" | "e" | "es" | "x"))
}

/// The terms of the list that `text` uses, as the list writes them, in its order, once each.
#[must_use]
pub fn origin_terms(text: &str) -> Vec<String> {
    let folded = fold(text);
    let said: Vec<&str> = words(&folded).collect();
    TERMS
        .iter()
        .filter(|term| {
            said.windows(term.len()).any(|window| {
                let last = term.len() - 1;
                window[..last] == term[..last] && is_form_of(window[last], &term[last])
            })
        })
        .map(|term| term.join(" "))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_origins_nationalities_and_religions_in_french_and_english() {
        assert_eq!(origin_terms("Deux jeunes de type maghrébin rôdent"), ["maghrebin", "de type"]);
        assert_eq!(origin_terms("Une femme voilée sonne aux portes"), ["voile"]);
        assert_eq!(origin_terms("Deux hommes, un Arabe et un Européen"), ["arab"]);
        assert_eq!(origin_terms("Des Roumains démarchent rue des Lilas"), ["roumain"]);
        assert_eq!(origin_terms("Les gens du voyage sont installés au stade"), ["gens du voyage"]);
        assert_eq!(origin_terms("Two MUSLIM men at the door"), ["muslim"]);
        assert_eq!(
            origin_terms("A man, Middle-Eastern looking"),
            Vec::<String>::new(),
            "a hyphen makes one word"
        );
        assert_eq!(origin_terms("a middle eastern man"), ["middle eastern"]);
    }

    #[test]
    fn leaves_behaviour_places_clothing_and_look_alikes_alone() {
        for text in [
            "Homme en sweat noir qui essaie les poignées des voitures, rue des Lilas, part vers la gare",
            "Camionnette blanche arrêtée devant le 12 depuis une heure",
            "Romain, le fils des voisins, a retrouvé le chat",
            "La turbine du moulin fait du bruit, les romans de la bibliothèque sont mouillés",
        ] {
            assert!(origin_terms(text).is_empty(), "{text}: {:?}", origin_terms(text));
        }
        // "étrangère" is the feminine of a listed word: named, as it should be.
        assert_eq!(origin_terms("plaque étrangère"), ["etranger"]);
    }

    #[test]
    fn every_line_of_the_list_is_a_term_it_matches() {
        let terms: Vec<&str> =
            LIST.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        assert!(terms.len() > 60, "{}", terms.len());
        for term in terms {
            assert_eq!(origin_terms(&format!("vu : {term} !")), [fold(term)], "{term}");
        }
    }
}

//! Masking of free text (error messages from AWS, for instance) before it reaches a log or a
//! stored record: phone numbers and email addresses never appear in full.

/// Returns `text` with every run of 6 or more digits (optionally after `+`, spaces and dots
/// allowed inside) masked but for its first 3 and last 2 digits, and every email address
/// masked but for the first character of its local part.
pub fn redact(text: &str) -> String {
    mask_emails(&mask_numbers(text))
}

fn mask_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            // A number: digits, with single spaces, dots or dashes between them.
            let start = i;
            let mut end = i + 1;
            let mut digits = usize::from(chars[i].is_ascii_digit());
            while end < chars.len() {
                if chars[end].is_ascii_digit() {
                    digits += 1;
                    end += 1;
                } else if matches!(chars[end], ' ' | '.' | '-')
                    && chars.get(end + 1).is_some_and(char::is_ascii_digit)
                {
                    end += 1;
                } else {
                    break;
                }
            }
            let run = &chars[start..end];
            if digits >= 6 {
                let mut seen = 0;
                for c in run {
                    if c.is_ascii_digit() {
                        seen += 1;
                        out.push(if seen <= 3 || seen > digits - 2 { *c } else { '*' });
                    } else {
                        out.push(*c);
                    }
                }
            } else {
                out.extend(run);
            }
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn mask_emails(text: &str) -> String {
    let is_part = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '\'');
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '@' {
            // Walk back over the local part already written.
            let mut local = Vec::new();
            while let Some(c) = out.chars().last().filter(|c| is_part(*c)) {
                out.pop();
                local.push(c);
            }
            local.reverse();
            let has_domain = chars.get(i + 1).is_some_and(|c| c.is_alphanumeric());
            if local.is_empty() || !has_domain {
                out.extend(local);
            } else {
                out.push(local[0]);
                out.push_str("***");
            }
            out.push('@');
        } else {
            out.push(chars[i]);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_are_masked() {
        assert_eq!(
            redact("Invalid parameter: PhoneNumber +33612345678"),
            "Invalid parameter: PhoneNumber +336******78"
        );
        assert_eq!(redact("call 06 12 34 56 78 now"), "call 06 1* ** ** 78 now");
        assert_eq!(redact("error 503 at 12:04"), "error 503 at 12:04");
    }

    #[test]
    fn emails_are_masked() {
        assert_eq!(redact("rejected: <marie.dupont@example.org>"), "rejected: <m***@example.org>");
        assert_eq!(redact("a @ b and x@"), "a @ b and x@");
    }

    proptest! {
        #[test]
        fn no_full_french_number_survives(digits in "[1-9][0-9]{8}", prefix in "[a-zA-Z :]{0,20}") {
            let number = format!("+33{digits}");
            let out = redact(&format!("{prefix}{number} end"));
            prop_assert!(!out.contains(&number));
        }

        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = redact(&text);
        }
    }
}

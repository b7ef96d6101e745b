//! Turkish and English: which language to answer in, the messages, and how numbers, dates and
//! capitals are written in each.
//!
//! - [`negotiate`]: the stored preference, else `Accept-Language`, else English.
//! - [`Catalog`]: Project Fluent messages from `locales/{en,tr}/*.ftl`, compiled into the
//!   binary. Look a message up by key with [`Locale::t`] / [`Locale::t_with`], or from a
//!   template with `ctx.t("site-name")` (see [`crate::web`]).
//! - [`format`](mod@format): numbers with the locale's separators, dates with its month names, in the
//!   reader's time zone (Istanbul by default for Turkish).
//! - [`casing`]: upper and lower case with Turkish İ/i and I/ı.
//!
//! ## Adding a message
//! Add the key to the same file in **both** `locales/en/` and `locales/tr/`, with the same
//! variables. The tests below fail when a key, a file or a variable exists in one language
//! only, when a file does not parse, and when a template or the web code refers to a key
//! that does not exist. Code that keeps a key for later (a field error, say) writes it as
//! `key("…")`, so the scan finds it. A new file is also listed in `catalog.rs`.

pub mod casing;
mod catalog;
pub mod format;
mod locale;
mod negotiate;

pub use catalog::{Args, Catalog};
pub use locale::Locale;
#[cfg(any(test, feature = "testing"))]
pub use locale::UnsupportedLocale;
#[cfg(any(test, feature = "testing"))]
pub use negotiate::from_accept_language;
pub use negotiate::negotiate;

/// A message key kept in code for later lookup (`key("deletion-email-required")`). The
/// catalog tests find every such key and check that both languages define it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageKey(&'static str);

impl MessageKey {
    /// The key.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// A message key written in code (see [`MessageKey`]).
pub const fn key(key: &'static str) -> MessageKey {
    MessageKey(key)
}

impl Locale {
    /// The message `key` in this language.
    pub fn t(self, key: &str) -> String {
        Catalog::get().format(self, key, None)
    }

    /// The message `key` in this language, with its arguments.
    pub fn t_with(self, key: &str, args: &Args<'_>) -> String {
        Catalog::get().format(self, key, Some(args))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use super::catalog::{inventory, sources};
    use super::*;

    fn crate_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// Every file under `dir` whose name ends with one of `extensions`.
    fn files(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, extensions, out);
            } else if extensions
                .iter()
                .any(|ext| path.extension().is_some_and(|e| e == *ext))
            {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_message_file_on_disk_is_compiled_in_for_each_language() {
        for locale in Locale::ALL {
            let dir = crate_dir().join("locales").join(locale.tag());
            let mut on_disk = Vec::new();
            files(&dir, &["ftl"], &mut on_disk);
            let on_disk: BTreeSet<String> = on_disk
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            let compiled: BTreeSet<String> = sources(locale)
                .iter()
                .map(|(name, _)| (*name).to_owned())
                .collect();
            assert_eq!(
                on_disk, compiled,
                "locales/{locale} and catalog.rs disagree"
            );
        }
    }

    #[test]
    fn every_message_exists_in_both_languages_with_the_same_variables() {
        let english = inventory::of(Locale::En).unwrap();
        let turkish = inventory::of(Locale::Tr).unwrap();
        assert!(english.len() > 20, "the catalog was read: {english:?}");
        let mut problems = Vec::new();
        for (key, variables) in &english {
            match turkish.get(key) {
                None => problems.push(format!("`{key}` is missing in tr")),
                Some(other) if other != variables => problems.push(format!(
                    "`{key}` uses {variables:?} in en but {other:?} in tr"
                )),
                Some(_) => {}
            }
        }
        for key in turkish.keys() {
            if !english.contains_key(key) {
                problems.push(format!("`{key}` is missing in en"));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn each_message_is_in_the_same_file_in_both_languages() {
        for (index, (file, _)) in sources(Locale::En).iter().enumerate() {
            let (other, _) = sources(Locale::Tr)[index];
            assert_eq!(*file, other, "catalog.rs lists the files in the same order");
        }
        for ((file, en), (_, tr)) in sources(Locale::En).iter().zip(sources(Locale::Tr)) {
            let ids = |text: &str| -> BTreeSet<String> {
                text.lines()
                    .filter(|line| line.starts_with(|c: char| c.is_ascii_alphabetic()))
                    .filter_map(|line| line.split_once('=').map(|(id, _)| id.trim().to_owned()))
                    .collect()
            };
            assert_eq!(
                ids(en),
                ids(tr),
                "{file} defines different keys in en and tr"
            );
        }
    }

    /// The message keys a source refers to: `.t("…")`, `.t_with("…"` and `key("…")` (the
    /// last only as a whole name: `signing_key("…")` is something else).
    fn referenced_keys(text: &str) -> Vec<String> {
        let mut keys = Vec::new();
        for marker in [".t(\"", ".t_with(\"", "key(\""] {
            let mut offset = 0;
            while let Some(found) = text[offset..].find(marker) {
                let start = offset + found;
                offset = start + marker.len();
                let whole_name = text[..start]
                    .chars()
                    .next_back()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                if marker == "key(\"" && !whole_name {
                    continue;
                }
                if let Some(end) = text[offset..].find('"') {
                    keys.push(text[offset..offset + end].to_owned());
                }
            }
        }
        keys
    }

    #[test]
    fn the_scan_finds_keys_in_every_form_they_are_written() {
        let text = r#"{{ ctx.t("a-b") }} ctx.t_with("c", &args) key("d") locale.t("e")
            i18n::key("f") signing_key("not-a-message") monkey("nor-this")"#;
        let mut found = referenced_keys(text);
        found.sort();
        assert_eq!(found, ["a-b", "c", "d", "e", "f"]);
    }

    #[test]
    fn every_key_a_template_or_the_web_code_uses_exists_in_both_languages() {
        let mut sources_to_scan = Vec::new();
        files(
            &crate_dir().join("templates"),
            &["html"],
            &mut sources_to_scan,
        );
        files(&crate_dir().join("src/web"), &["rs"], &mut sources_to_scan);
        files(&crate_dir().join("src/i18n"), &["rs"], &mut sources_to_scan);
        let catalog = Catalog::get();
        let mut seen = 0;
        let mut problems = Vec::new();
        for path in &sources_to_scan {
            if path.ends_with("i18n/mod.rs") {
                // This file's own test strings are examples, not references.
                continue;
            }
            let text = std::fs::read_to_string(path).unwrap();
            for key in referenced_keys(&text) {
                seen += 1;
                for locale in Locale::ALL {
                    if !catalog.has(locale, &key) {
                        problems.push(format!("{}: `{key}` is not in {locale}", path.display()));
                    }
                }
            }
        }
        assert!(seen > 20, "the scan found the references ({seen})");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_missing_key_shows_the_key_rather_than_nothing() {
        assert_eq!(Locale::Tr.t("no-such-message"), "no-such-message");
    }

    #[test]
    fn numbers_in_messages_use_the_readers_separators() {
        let args = Args::new().number("count", 1234.5);
        let english = Locale::En.t_with("form-error-count", &args);
        let turkish = Locale::Tr.t_with("form-error-count", &args);
        assert!(english.contains("1,234.5"), "{english}");
        assert!(turkish.contains("1.234,5"), "{turkish}");
        let one = Locale::En.t_with("form-error-count", &Args::new().number("count", 1));
        let two = Locale::En.t_with("form-error-count", &Args::new().number("count", 2));
        assert_ne!(
            one.replace('1', ""),
            two.replace('2', ""),
            "plural forms are chosen"
        );
    }
}

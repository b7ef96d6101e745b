//! The message catalog: every `locales/{tag}/*.ftl` file, compiled into the binary and loaded
//! into one Fluent bundle per locale on first use.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

use super::{Locale, format};

/// One message file: its name and text.
type Source = (&'static str, &'static str);

macro_rules! sources {
    ($tag:literal: $($file:literal),+ $(,)?) => {
        &[$(($file, include_str!(concat!("../../locales/", $tag, "/", $file)))),+]
    };
}

/// The message files of each locale. A test checks this list against the folders, so a file
/// added to `locales/` and not here fails the build's tests rather than going missing.
const EN: &[Source] = sources!("en":
    "common.ftl",
    "dates.ftl",
    "data-deletion.ftl",
    "meta-deletion.ftl",
    "auth.ftl",
    "posts.ftl",
    "calendar.ftl",
    "privacy-centre.ftl",
    "onboarding.ftl",
    "settings.ftl",
    "billing.ftl",
    "api-keys.ftl",
    "notify.ftl",
);
const TR: &[Source] = sources!("tr":
    "common.ftl",
    "dates.ftl",
    "data-deletion.ftl",
    "meta-deletion.ftl",
    "auth.ftl",
    "posts.ftl",
    "calendar.ftl",
    "privacy-centre.ftl",
    "onboarding.ftl",
    "settings.ftl",
    "billing.ftl",
    "api-keys.ftl",
    "notify.ftl",
);

/// The files of `locale`, as compiled in.
pub(crate) fn sources(locale: Locale) -> &'static [Source] {
    match locale {
        Locale::En => EN,
        Locale::Tr => TR,
    }
}

/// Named values a message interpolates (`{ $date }`). Text is inserted as given (templates
/// escape the whole message); numbers are formatted in the reader's locale and select plural
/// forms.
#[derive(Default)]
pub struct Args<'a>(FluentArgs<'a>);

impl<'a> Args<'a> {
    /// No arguments yet.
    pub fn new() -> Self {
        Self(FluentArgs::new())
    }

    /// Adds a text argument.
    #[must_use]
    pub fn text(mut self, name: &'a str, value: impl Into<Cow<'a, str>>) -> Self {
        self.0.set(name, FluentValue::String(value.into()));
        self
    }

    /// Adds a number argument.
    #[must_use]
    pub fn number(mut self, name: &'a str, value: impl Into<f64>) -> Self {
        self.0.set(name, FluentValue::from(value.into()));
        self
    }
}

impl std::fmt::Debug for Args<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

/// Every locale's bundle.
pub struct Catalog {
    bundles: BTreeMap<Locale, FluentBundle<FluentResource>>,
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(Catalog::load);

impl Catalog {
    /// The catalog, loaded on first use.
    pub fn get() -> &'static Self {
        &CATALOG
    }

    fn load() -> Self {
        let bundles = Locale::ALL
            .into_iter()
            .map(|locale| (locale, bundle(locale)))
            .collect();
        Self { bundles }
    }

    fn bundle(&self, locale: Locale) -> Option<&FluentBundle<FluentResource>> {
        self.bundles.get(&locale)
    }

    /// Whether `locale` has a message `key`.
    #[cfg(any(test, feature = "testing"))]
    pub fn has(&self, locale: Locale, key: &str) -> bool {
        self.bundle(locale).is_some_and(|b| b.has_message(key))
    }

    /// The message `key` in `locale`. A key missing in `locale` falls back to English and
    /// then to the key itself, logged either way (the catalog tests make both unreachable).
    pub fn format(&self, locale: Locale, key: &str, args: Option<&Args<'_>>) -> String {
        let found = [locale, Locale::En].into_iter().find_map(|candidate| {
            let bundle = self.bundle(candidate)?;
            let pattern = bundle.get_message(key)?.value()?;
            Some((candidate, bundle, pattern))
        });
        let Some((used, bundle, pattern)) = found else {
            tracing::warn!(key, %locale, "message missing in every locale");
            return key.to_owned();
        };
        if used != locale {
            tracing::warn!(key, %locale, "message missing; shown in English");
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args.map(|a| &a.0), &mut errors);
        if !errors.is_empty() {
            tracing::warn!(key, %locale, ?errors, "message formatted with errors");
        }
        text.into_owned()
    }
}

/// The bundle of `locale`: every file of it. A file with syntax errors keeps the entries
/// that parsed (the catalog tests refuse such a file, so this only softens a bad deploy).
fn bundle(locale: Locale) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = locale
        .tag()
        .parse()
        .unwrap_or_else(|_| LanguageIdentifier::default());
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Pages are left-to-right only; Unicode isolation marks around arguments would end up
    // in attribute values and copied text.
    bundle.set_use_isolating(false);
    bundle.set_formatter(Some(match locale {
        Locale::En => format_number::<EN_TAG, _>,
        Locale::Tr => format_number::<TR_TAG, _>,
    }));
    for (file, text) in sources(locale) {
        let resource =
            FluentResource::try_new((*text).to_owned()).unwrap_or_else(|(partial, errors)| {
                tracing::error!(%locale, file, ?errors, "message file has syntax errors");
                partial
            });
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(%locale, file, ?errors, "message file repeats a message");
        }
    }
    bundle
}

const EN_TAG: u8 = 0;
const TR_TAG: u8 = 1;

/// Fluent's number display, in the bundle's locale (a plain `fn` per locale, as Fluent wants).
fn format_number<const LOCALE: u8, M>(value: &FluentValue<'_>, _: &M) -> Option<String> {
    let FluentValue::Number(number) = value else {
        return None;
    };
    let locale = if LOCALE == TR_TAG {
        Locale::Tr
    } else {
        Locale::En
    };
    let options = &number.options;
    Some(format::decimal(
        locale,
        number.value,
        options.minimum_fraction_digits.unwrap_or(0),
        options.maximum_fraction_digits.unwrap_or(3),
    ))
}

/// The message ids of each locale with the variables each uses, for the tests that compare
/// the locales.
#[cfg(test)]
pub(crate) mod inventory {
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_bundle::FluentResource;
    use fluent_syntax::ast;

    use super::{Locale, sources};

    /// The message ids of `locale`, each with the variables its value and attributes use
    /// (for the tests that compare the locales).
    pub(crate) fn of(locale: Locale) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
        let mut out = BTreeMap::new();
        for (file, text) in sources(locale) {
            let resource = FluentResource::try_new((*text).to_owned())
                .map_err(|(_, errors)| format!("{locale}/{file}: syntax errors: {errors:?}"))?;
            for entry in resource.entries() {
                if let ast::Entry::Message(message) = entry {
                    let mut variables = BTreeSet::new();
                    if let Some(value) = &message.value {
                        pattern_variables(value, &mut variables);
                    }
                    for attribute in &message.attributes {
                        pattern_variables(&attribute.value, &mut variables);
                    }
                    let id = message.id.name.to_owned();
                    if out.insert(id.clone(), variables).is_some() {
                        return Err(format!("{locale}/{file}: `{id}` is defined twice"));
                    }
                }
            }
        }
        Ok(out)
    }

    fn pattern_variables(pattern: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
        for element in &pattern.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                expression_variables(expression, out);
            }
        }
    }

    fn expression_variables(expression: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
        match expression {
            ast::Expression::Select { selector, variants } => {
                inline_variables(selector, out);
                for variant in variants {
                    pattern_variables(&variant.value, out);
                }
            }
            ast::Expression::Inline(inline) => inline_variables(inline, out),
        }
    }

    fn inline_variables(inline: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
        match inline {
            ast::InlineExpression::VariableReference { id } => {
                out.insert(id.name.to_owned());
            }
            ast::InlineExpression::FunctionReference { arguments, .. } => {
                for argument in &arguments.positional {
                    inline_variables(argument, out);
                }
                for named in &arguments.named {
                    inline_variables(&named.value, out);
                }
            }
            ast::InlineExpression::Placeable { expression } => {
                expression_variables(expression, out)
            }
            _ => {}
        }
    }
}

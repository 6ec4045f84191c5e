//! The page templates, their CSS and JS, all embedded in the binary, and
//! the minijinja environment that renders them (HTML auto-escaped).
//!
//! Renders contexts it is given; reads no files and knows no routes.

use minijinja::Environment;
use serde_json::Value;

pub(crate) const CSS: &str = include_str!("assets/style.css");
pub(crate) const JS: &str = include_str!("assets/ui.js");

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("dags.html", include_str!("templates/dags.html")),
    ("grid.html", include_str!("templates/grid.html")),
    ("run.html", include_str!("templates/run.html")),
    ("task.html", include_str!("templates/task.html")),
    ("project.html", include_str!("templates/project.html")),
    ("error.html", include_str!("templates/error.html")),
];

/// A static file by name: its content type and text. Nothing else is served
/// under `/static/`, so no URL reaches the filesystem through it.
pub(crate) fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "style.css" => Some(("text/css; charset=utf-8", CSS)),
        "ui.js" => Some(("text/javascript; charset=utf-8", JS)),
        _ => None,
    }
}

pub(crate) struct Pages {
    env: Environment<'static>,
}

impl Pages {
    pub(crate) fn new() -> Pages {
        let mut env = Environment::new();
        for (name, text) in TEMPLATES {
            // The templates are part of the binary and tested; a broken one
            // shows as a render error naming it.
            if let Err(e) = env.add_template(name, text) {
                eprintln!("warning: template `{name}`: {e}");
            }
        }
        Pages { env }
    }

    pub(crate) fn render(&self, name: &str, ctx: &Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(minijinja::Value::from(minijinja::value::Serde(ctx)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, text) in TEMPLATES {
            env.add_template(name, text).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert!(asset("style.css").is_some() && asset("../style.css").is_none() && asset("ui.js").is_some());
    }
}

//! What a source table is described with in the manifest (and so in
//! `graph.sources`): its descriptions, loader, meta, tags and columns as
//! the property file writes them. Read by `properties`, written by
//! `artifacts::manifest`; nothing here renders or checks anything.

/// A source table's descriptive properties, as written (descriptions may
/// hold Jinja, which the manifest renders).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceDocs {
    pub description: Option<String>,
    pub source_description: Option<String>,
    pub loader: Option<String>,
    /// The source's `meta:` with the table's over it, as dbt merges them.
    pub meta: serde_yaml::Mapping,
    pub source_meta: serde_yaml::Mapping,
    /// The source's tags, then the table's.
    pub tags: Vec<String>,
    pub columns: Vec<SourceColumn>,
}

/// One `columns:` entry of a source table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceColumn {
    pub name: String,
    pub description: Option<String>,
    pub data_type: Option<String>,
    pub meta: serde_yaml::Mapping,
    pub tags: Vec<String>,
    pub quote: Option<bool>,
}

//! The report as JSON: [`super::data::Report`] serialised, pretty-printed, with a final
//! newline. Field names are stable; `docs/export-schema.md` describes each.

use super::data::Report;
use super::ExportError;

pub fn render(report: &Report) -> Result<Vec<u8>, ExportError> {
    let mut out = serde_json::to_vec_pretty(report).map_err(|e| ExportError::Render {
        what: "JSON".into(),
        message: e.to_string(),
    })?;
    out.push(b'\n');
    Ok(out)
}

//! PNG charts: the SVG charts rasterised with resvg at twice their size (sharp on a
//! slide and on paper), with the system's fonts for the labels.

use resvg::{tiny_skia, usvg};

/// Pixels per SVG unit.
const SCALE: f32 = 2.0;

/// The PNG of `svg`, or why there is none.
pub fn render(svg: &str) -> Result<Vec<u8>, String> {
    let mut options = usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| format!("not valid SVG: {e}"))?;
    let size = tree.size();
    let width = ((size.width() * SCALE).ceil() as u32).max(1);
    let height = ((size.height() * SCALE).ceil() as u32).max(1);
    let mut pixmap = tiny_skia::Pixmap::new(width, height)
        .ok_or_else(|| format!("cannot make a {width}×{height} image"))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(SCALE, SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| format!("cannot encode the PNG: {e}"))
}

// Package report renders the result of the USaPP analysis method (USAPP.md
// section 4; analysis.Report) for people and for machines, and compares two
// results. It implements no control itself: it is how the method's output
// (threats, the threat × class table, findings, coverage, overlaps, the
// minimum set of controls and cascaded risk) reaches the reader.
//
// # Formats
//
//   - Markdown: a review document with a summary, the threat × class table,
//     findings grouped by status, the minimum set, uncovered threats,
//     coverage gaps, overlaps and the cascade ranking.
//   - JSON: the analysis.Report exactly as it is, indented. The shape is the
//     public contract of package analysis (version 1); this package adds
//     nothing to it.
//   - HTML: one self-contained XHTML-compatible page (no scripts, no external
//     style sheets, fonts or images) with three inline SVG figures drawn
//     here: the domains × layers grid of deployed and proposed controls
//     (id "grid"), the data-flow graph with trust boundaries and weak flows
//     highlighted (id "flows"), and the threat × class table (id
//     "threat-class").
//
// Diff compares two reports by stable IDs (threat IDs, finding IDs, control
// IDs) and renders the Delta as Markdown or JSON; Drift compares the
// controls a model assumes with those a running role reports at GET
// /controls (framework.ControlsHandler).
//
// # Invariants
//
// Output is deterministic: the same report, model and catalogue give the same
// bytes, so rendered reports can be kept under version control and diffed.
// The model and catalogue are optional (nil) for every renderer; without them
// figures that need placement or names fall back to what the report holds.
// Renderers only write to the io.Writer they are given; they are safe for
// concurrent use on distinct writers since they never modify their inputs.
package report

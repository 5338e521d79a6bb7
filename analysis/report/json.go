package report

import (
	"encoding/json"
	"io"

	"github.com/usapp/usapp/analysis"
)

// JSON writes rep exactly as it is, indented: the public contract of package
// analysis (Report version 1). Nothing is added or reordered here, so a
// consumer can decode it straight into an analysis.Report.
func JSON(w io.Writer, rep *analysis.Report) error {
	if rep == nil {
		return ErrNoReport
	}
	return writeJSON(w, rep)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// The output is a file, not a page: keep "<" and "&" readable.
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

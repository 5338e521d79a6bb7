package report

import (
	"fmt"
	"html"
	"strings"
)

// svg builds one inline SVG document as text. Every attribute value and
// text node goes through html.EscapeString, whose output (&lt; &gt; &amp;
// &#39; &#34;) is valid in both HTML and XML, so the page stays well-formed
// XHTML whatever names a model uses.
type svg struct{ b strings.Builder }

func newSVG(id, title string, width, height float64) *svg {
	s := &svg{}
	s.raw(`<svg xmlns="http://www.w3.org/2000/svg" id="%s" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-label="%s" font-family="sans-serif" font-size="12">`,
		esc(id), num(width), num(height), num(width), num(height), esc(title))
	s.raw(`<title>%s</title><style>%s</style>`, esc(title), svgStyle)
	return s
}

// svgStyle travels inside every figure so each <svg> also renders on its
// own, cut out of the page.
const svgStyle = `.head{fill:#eef1f5;stroke:#99a}` +
	`.cell{fill:#fff;stroke:#99a}` +
	`.deployed{fill:#d5f5e3;stroke:#1e8449}` +
	`.proposed{fill:#fdebd0;stroke:#d35400;stroke-dasharray:4 2}` +
	`.both{fill:#d6eaf8;stroke:#1f618d}` +
	`.boundary{fill:#f4f9ff;stroke:#2c5d8a;stroke-dasharray:6 3}` +
	`.node{fill:#fff;stroke:#333}` +
	`.flow{stroke:#555;stroke-width:1.5;fill:none}` +
	`.weak{stroke:#c0392b;stroke-width:2.5;stroke-dasharray:7 4}` +
	`.flowlabel{fill:#333}` +
	`.yes{fill:#d5f5e3;stroke:#99a}` +
	`.no{fill:#fff;stroke:#99a}` +
	`.bare{fill:#fadbd8;stroke:#99a}` +
	`.high{fill:#c0392b;font-weight:bold}.medium{fill:#d35400}.low{fill:#333}.none{fill:#999}`

func (s *svg) raw(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

// rect draws a rectangle; attrs is a trusted, constant attribute string.
func (s *svg) rect(x, y, w, h float64, attrs string) {
	s.raw(`<rect x="%s" y="%s" width="%s" height="%s" %s/>`, num(x), num(y), num(w), num(h), attrs)
}

// text draws escaped text; attrs is a trusted, constant attribute string.
func (s *svg) text(x, y float64, attrs, body string) {
	s.raw(`<text x="%s" y="%s" %s>%s</text>`, num(x), num(y), attrs, esc(body))
}

// tip opens a group carrying a tooltip: browsers show <title> on hover, so
// full names fit without scripts.
func (s *svg) tip(tooltip string) { s.raw(`<g><title>%s</title>`, esc(tooltip)) }
func (s *svg) end()               { s.raw(`</g>`) }

func (s *svg) String() string { return s.b.String() + "</svg>" }

func esc(s string) string { return html.EscapeString(s) }

// num prints coordinates compactly and identically on every platform.
func num(x float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", x), "0"), ".")
}

// clip shortens a label to n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

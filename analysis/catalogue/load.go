package catalogue

import (
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sync"

	"github.com/usapp/usapp/framework"
)

//go:embed data/*.yaml
var embedded embed.FS

// embeddedPrefix names embedded files in errors and sources, so they cannot
// be mistaken for a user's file of the same name.
const embeddedPrefix = "catalogue:"

// File is one catalogue document held in memory.
type File struct {
	Name string // used in errors and sources
	Data []byte
}

var defaults = sync.OnceValues(func() ([]*fileDefs, error) {
	files, err := embeddedFiles()
	if err != nil {
		return nil, err
	}
	defs, errs := decodeAll(files)
	if err := asError(errs); err != nil {
		return nil, err
	}
	return defs, nil
})

var defaultCatalogue = sync.OnceValues(func() (*Catalogue, error) {
	defs, err := defaults()
	if err != nil {
		return nil, err
	}
	return build(defs, nil)
})

// Default returns the catalogue embedded in the binary. It is parsed once;
// every call returns the same immutable value.
func Default() (*Catalogue, error) { return defaultCatalogue() }

// Load returns the default catalogue extended by user files, read in order:
// an entry with a new ID is added; an entry whose ID is already defined
// replaces the earlier one whole, and the replacement is recorded in
// Notes. Cross-references (mitigates, references) are checked once all files
// are read, so a user file may cite what another defines. Every problem is
// reported with file, line and field path: one as an *Error, several as an
// *Errors.
func Load(paths ...string) (*Catalogue, error) {
	files := make([]File, 0, len(paths))
	for _, p := range paths {
		data, err := readFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: p, Data: data})
	}
	return LoadFiles(files...)
}

// LoadFiles is Load over documents already in memory.
func LoadFiles(files ...File) (*Catalogue, error) {
	if len(files) == 0 {
		return Default()
	}
	base, err := defaults()
	if err != nil {
		return nil, err
	}
	user, errs := decodeAll(files)
	if err := asError(errs); err != nil {
		return nil, err
	}
	return build(base, user)
}

func readFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, &Error{File: p, Msg: "cannot open", Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &Error{File: p, Msg: "cannot read", Err: err}
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: p, Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize), Err: ErrTooLarge}
	}
	return data, nil
}

func embeddedFiles() ([]File, error) {
	names, err := fs.Glob(embedded, "data/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("catalogue: embedded data: %w", err)
	}
	slices.Sort(names)
	files := make([]File, 0, len(names))
	for _, n := range names {
		data, err := embedded.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("catalogue: embedded data: %w", err)
		}
		files = append(files, File{Name: embeddedPrefix + path.Base(n), Data: data})
	}
	return files, nil
}

func decodeAll(files []File) ([]*fileDefs, []*Error) {
	var all []*fileDefs
	var errs []*Error
	for _, f := range files {
		defs, e := decodeFile(f.Name, f.Data)
		all = append(all, defs)
		errs = append(errs, e...)
	}
	sortErrors(errs, all)
	return all, errs
}

// merged is the working state of build: the winning definition of each ID.
type merged struct {
	subclasses map[framework.Subclass]*subclassDef
	controls   map[framework.ControlID]*controlDef
	threats    map[string]*threatDef
	references map[string]*referenceDef
	notes      []Note
	errs       []*Error
}

// build merges the default files (where a repeated ID is an error: it is a
// bug in our data) and then the user files (where it is an override).
func build(base, user []*fileDefs) (*Catalogue, error) {
	m := &merged{
		subclasses: map[framework.Subclass]*subclassDef{},
		controls:   map[framework.ControlID]*controlDef{},
		threats:    map[string]*threatDef{},
		references: map[string]*referenceDef{},
	}
	for _, f := range base {
		m.add(f, false)
	}
	for _, f := range user {
		m.add(f, true)
	}
	m.check()
	sortErrors(m.errs, slices.Concat(base, user))
	if err := asError(m.errs); err != nil {
		return nil, err
	}
	return m.catalogue(), nil
}

func (m *merged) add(f *fileDefs, override bool) {
	for _, x := range f.subclasses {
		put(m, override, "subclass", f.name, x.path, x.s.ID, x.s.Source, x, m.subclasses, func(y *subclassDef) Source { return y.s.Source })
	}
	for _, x := range f.controls {
		put(m, override, "control", f.name, x.path, x.c.ID, x.c.Source, x, m.controls, func(y *controlDef) Source { return y.c.Source })
	}
	for _, x := range f.threats {
		put(m, override, "threat", f.name, x.path, x.t.ID, x.t.Source, x, m.threats, func(y *threatDef) Source { return y.t.Source })
	}
	for _, x := range f.references {
		put(m, override, "reference", f.name, x.path, x.r.ID, x.r.Source, x, m.references, func(y *referenceDef) Source { return y.r.Source })
	}
}

func put[K ~string, V any](m *merged, override bool, kind, file, p string, id K, src Source, x V, into map[K]V, srcOf func(V) Source) {
	prev, ok := into[id]
	switch {
	case !ok:
	case override:
		m.notes = append(m.notes, Note{Kind: kind, ID: string(id), By: src, Replaced: srcOf(prev)})
	default:
		first := srcOf(prev)
		m.errs = append(m.errs, &Error{File: file, Line: src.Line, Path: join(p, "id"), Err: ErrDuplicate,
			Msg: fmt.Sprintf("%s %q already defined at %s:%d", kind, id, first.File, first.Line)})
		return
	}
	into[id] = x
}

// check verifies what no single file can: every cited threat and reference
// exists, and the nine subclasses are all described.
func (m *merged) check() {
	for _, id := range sortedKeys(m.controls) {
		x := m.controls[id]
		for i, t := range x.c.Mitigates {
			if _, ok := m.threats[t]; !ok {
				m.errs = append(m.errs, &Error{File: x.c.Source.File, Line: x.mitigates[i].line, Path: x.mitigates[i].path,
					Err: ErrDangling, Msg: fmt.Sprintf("control %s mitigates unknown threat %q", id, t)})
			}
		}
		m.checkRefs(string(id), x.c.Source.File, x.c.References, x.refs)
	}
	for _, id := range sortedKeys(m.threats) {
		x := m.threats[id]
		m.checkRefs(id, x.t.Source.File, x.t.References, x.refs)
	}
	for _, s := range framework.Subclasses {
		if _, ok := m.subclasses[s]; !ok {
			m.errs = append(m.errs, &Error{File: embeddedPrefix + "subclasses.yaml", Path: "subclasses", Err: ErrMissing,
				Msg: fmt.Sprintf("subclass %s is not described", s)})
		}
	}
}

// sortErrors orders problems by file, in load order, then by line.
func sortErrors(errs []*Error, files []*fileDefs) {
	order := make(map[string]int, len(files))
	for i, f := range files {
		if _, ok := order[f.name]; !ok {
			order[f.name] = i
		}
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		if oa, ob := order[a.File], order[b.File]; oa != ob {
			return oa - ob
		}
		return a.Line - b.Line
	})
}

func (m *merged) checkRefs(owner, file string, refs []string, pos []at) {
	for i, r := range refs {
		if _, ok := m.references[r]; !ok {
			m.errs = append(m.errs, &Error{File: file, Line: pos[i].line, Path: pos[i].path,
				Err: ErrDangling, Msg: fmt.Sprintf("%s cites unknown reference %q", owner, r)})
		}
	}
}

func (m *merged) catalogue() *Catalogue {
	c := &Catalogue{
		subclasses: make(map[framework.Subclass]*Subclass, len(m.subclasses)),
		controls:   make(map[framework.ControlID]*Control, len(m.controls)),
		threats:    make(map[string]*Threat, len(m.threats)),
		references: make(map[string]*Reference, len(m.references)),
		byThreat:   make(map[string][]framework.ControlID),
		notes:      m.notes,
	}
	for id, x := range m.subclasses {
		c.subclasses[id] = &x.s
	}
	for id, x := range m.controls {
		c.controls[id] = &x.c
	}
	for id, x := range m.threats {
		c.threats[id] = &x.t
	}
	for id, x := range m.references {
		c.references[id] = &x.r
	}
	c.controlIDs = sortedKeys(c.controls)
	c.threatIDs = sortedKeys(c.threats)
	c.referenceIDs = sortedKeys(c.references)
	for _, id := range c.controlIDs {
		for _, t := range c.controls[id].Mitigates {
			c.byThreat[t] = append(c.byThreat[t], id)
		}
	}
	return c
}

func sortedKeys[K ~string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

package pki

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"time"

	"github.com/usapp/usapp/internal/durable"
)

// FileState is a State kept in one JSON file that is rewritten atomically
// (temporary file, fsync, rename, fsync of the directory) on every change,
// so that a crash leaves either the old or the new state, never a mix.
//
// This is the one place where package pki touches the disk: a CA must not
// hand out a certificate or a token before the fact is durable, and its
// first boot must not depend on a database. The whole file is rewritten on
// every change, which is fine for thousands of devices; a fleet of millions
// should implement [State] on a database. One process writes the file.
type FileState struct {
	memState
	path string
}

// MaxStateFile bounds what OpenFileState, DecodeStateFile and an importer
// read: a corrupt or hostile file must not exhaust memory.
const MaxStateFile = 256 << 20

// OpenFileState loads the state at path, or starts an empty one that will be
// created on the first change.
func OpenFileState(path string) (State, error) {
	fsState := &FileState{path: path}
	fsState.d = newStateData()
	fsState.persist = fsState.write
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fsState, nil
	case err != nil:
		return nil, fmt.Errorf("pki: read state: %w", err)
	case len(raw) > MaxStateFile:
		return nil, fmt.Errorf("pki: state file larger than %d bytes: %w", MaxStateFile, ErrStateFile)
	}
	d, err := decodeState(raw)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	fsState.d = d
	return fsState, nil
}

// decodeState parses a state file strictly: unknown fields, other versions
// and impossible values are errors.
func decodeState(raw []byte) (stateData, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var d stateData
	if err := dec.Decode(&d); err != nil {
		return stateData{}, fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	if dec.More() {
		return stateData{}, fmt.Errorf("trailing data: %w", ErrStateFile)
	}
	if d.Version != stateVersion {
		return stateData{}, fmt.Errorf("version %d: %w", d.Version, ErrStateFile)
	}
	if d.Serial == nil || d.Serial.Sign() < 0 {
		return stateData{}, fmt.Errorf("serial: %w", ErrStateFile)
	}
	if d.Tokens == nil {
		d.Tokens = map[string]TokenRecord{}
	}
	if d.Revoked == nil {
		d.Revoked = map[string]time.Time{}
	}
	for k := range d.Revoked {
		if n, ok := new(big.Int).SetString(k, 16); !ok || n.Sign() <= 0 {
			return stateData{}, fmt.Errorf("revoked serial: %w", ErrStateFile)
		}
	}
	return d, nil
}

func (f *FileState) write(d *stateData) error {
	raw, err := json.MarshalIndent(d, "", "\t")
	if err != nil {
		return fmt.Errorf("pki: encode state: %w", err)
	}
	return writeFileAtomic(f.path, raw)
}

func writeFileAtomic(path string, data []byte) error {
	if err := durable.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("pki: write state: %w", err)
	}
	return nil
}

package keystore

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A key that is replaced now and then (a device renewing its certificate
// with a new key) is kept as generations of one base name: base for the
// first, then base.k2, base.k3, ... A new generation is stored before it is
// used, so a crash between the two leaves both; DeleteBefore destroys the
// superseded ones once the new one is in use.

// GenerationName is the name of generation gen (1, 2, ...) of base.
func GenerationName(base string, gen int) string {
	if gen == 1 {
		return base
	}
	return fmt.Sprintf("%s.k%d", base, gen)
}

// Generations lists the generations of base that ks holds, newest first.
func Generations(ks Keystore, base string) ([]int, error) {
	names, err := ks.List()
	if err != nil {
		return nil, err
	}
	var gens []int
	for _, n := range names {
		if n == base {
			gens = append(gens, 1)
		} else if rest, ok := strings.CutPrefix(n, base+".k"); ok {
			// Only the canonical spelling: "m.k02" is not generation 2.
			if g, err := strconv.Atoi(rest); err == nil && g >= 2 && GenerationName(base, g) == n {
				gens = append(gens, g)
			}
		}
	}
	slices.Sort(gens)
	slices.Reverse(gens)
	return gens, nil
}

// DeleteBefore destroys every generation of base older than gen.
func DeleteBefore(ks Keystore, base string, gen int) error {
	gens, err := Generations(ks, base)
	if err != nil {
		return err
	}
	for _, g := range gens {
		if g < gen {
			if err := ks.Delete(GenerationName(base, g)); err != nil {
				return err
			}
		}
	}
	return nil
}

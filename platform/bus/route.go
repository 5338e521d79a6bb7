package bus

import "strings"

// RouteOf returns the identity whose readings subject this is: the publisher,
// since the bus lets each identity publish only on its own subject. It
// returns "" for any other subject.
func RouteOf(subject string) string {
	id, ok := strings.CutPrefix(subject, ReadingsPrefix)
	if !ok || !ValidToken(id) {
		return ""
	}
	return id
}

package framework

import (
	"errors"
	"testing"
)

func TestVocabulary(t *testing.T) {
	if len(Domains) != 4 || len(Categories) != 2 || len(Layers) != 5 || len(Requirements) != 7 || len(DataCategories) != 3 {
		t.Fatal("the method has 4 domains, 2 categories, 5 layers, 7 requirements and 3 spheres")
	}
	if !DEREV.Valid() || Domain("home").Valid() || !Network.Valid() || !Undetectability.Valid() || !PersonalData.Valid() {
		t.Fatal("Valid disagrees with the lists")
	}
	l, err := Parse("layer", "network", Layers)
	if err != nil || l != Network {
		t.Fatalf("Parse = %q, %v", l, err)
	}
	_, err = Parse("domain", "home", Domains)
	var ue *UnknownError
	if !errors.As(err, &ue) || ue.Kind != "domain" || len(ue.Valid) != 4 {
		t.Fatalf("Parse(home) = %v", err)
	}
}

package pricing

import "testing"

func TestPartialKeepsRatesNotGiven(t *testing.T) {
	tbl := Default()
	base, _, _, ok := tbl.Lookup("gpt-4o")
	if !ok {
		t.Fatal("gpt-4o is not in the builtin table")
	}
	in := 0.1
	ov := tbl.Partial("gpt-4o", &in, nil, nil, nil)
	if ov.Price.Input != 100_000 || ov.Price.Output != base.Output || ov.Source != SourcePolicy {
		t.Errorf("Partial(gpt-4o, input=0.1) = %+v, want input 100000 micros and output %d", ov.Price, base.Output)
	}
}

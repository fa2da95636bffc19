package health

import "testing"

func TestARecordStartsUpAndCountsOnlyReturnsFromDown(t *testing.T) {
	var r Record
	if r.IsDown() || r.Down() != 0 || r.Recoveries() != 0 {
		t.Fatalf("zero record: down %d, recoveries %d; want up with none", r.Down(), r.Recoveries())
	}
	if r.MarkUp() {
		t.Fatal("MarkUp of an endpoint that is up reported a change")
	}
	if !r.MarkDown(2) {
		t.Fatal("first MarkDown did not report that the endpoint was up")
	}
	if r.MarkDown(3) {
		t.Fatal("MarkDown of an endpoint already down reported that it was up")
	}
	if r.Down() != 3 {
		t.Fatalf("reason after two verdicts = %d, want the latest, 3", r.Down())
	}
	if !r.MarkUp() || r.Recoveries() != 1 || r.IsDown() {
		t.Fatalf("after MarkUp: down %d, recoveries %d; want up with one recovery", r.Down(), r.Recoveries())
	}
	if r.MarkUp(); r.Recoveries() != 1 {
		t.Fatalf("recoveries after a second MarkUp = %d, want still 1", r.Recoveries())
	}
}

package course_test

import (
	"slices"
	"testing"

	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow/course"
	"github.com/ticketflow-lab/tflab/system/ticketflow/sla"
)

func TestVariantsAreValid(t *testing.T) {
	if err := course.Variants().Validate(); err != nil {
		t.Fatal(err)
	}
}

// The course profile switches every protection off and every SLA quirk on;
// fixed switches nothing.
func TestCourseAndFixedProfiles(t *testing.T) {
	v := course.Variants()
	c, err := v.Resolve(course.Course)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(service.Protections))
	if !slices.Equal(c.Unprotect, want) {
		t.Errorf("course unprotects %v, want %v", c.Unprotect, want)
	}
	// Every setting must parse in the service that reads it.
	if s, err := sla.ParseSettings(c.Settings, ""); err != nil {
		t.Fatal(err)
	} else if !s.Timing.RemindersAtOnce || !s.Timing.IgnoreBlocking || !s.Timing.DeadlineMetInverted {
		t.Errorf("course SLA timing %+v", s.Timing)
	}
	f, err := v.Resolve("")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Unprotect) != 0 || len(f.Settings) != 0 {
		t.Errorf("default profile %+v, want nothing switched", f)
	}
}

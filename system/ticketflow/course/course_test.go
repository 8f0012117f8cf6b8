package course_test

import (
	"slices"
	"testing"

	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow/app"
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

// Every toggle's settings parse in the runtime and SLA (a typo in a value
// would only show when a lab starts).
func TestEveryToggleParses(t *testing.T) {
	for _, tog := range course.Variants().Toggles {
		r, err := course.Variants().Resolve(tog.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sla.ParseSettings(r.Settings, ""); err != nil {
			t.Errorf("%s: %v", tog.Name, err)
		}
		cfg := service.Config{System: "ticketflow", Name: "sla", Instance: 1, AMQPURL: "amqp://g:g@127.0.0.1:1/", HTTPAddr: "127.0.0.1:0",
			Unprotect: r.Unprotect, Settings: r.Settings}
		if err := app.CheckSettings(cfg); err != nil {
			t.Errorf("%s: %v", tog.Name, err)
		}
	}
}

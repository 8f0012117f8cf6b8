package app

import (
	"testing"

	"github.com/ticketflow-lab/tflab/system/service"
	"github.com/ticketflow-lab/tflab/system/ticketflow/contracts"
)

// The lesson-variant settings, each both ways: absent is the default
// topology, "on"/"off" switch.
func TestVariantSettings(t *testing.T) {
	s, err := parseSettings(service.Config{})
	if err != nil || s.variant != (contracts.Variant{}) {
		t.Fatalf("no settings: %+v %v", s.variant, err)
	}
	on := map[string]string{SettingTranslationV1: "on", SettingSLAQueues: contracts.SLAQueuesPartitioned, SettingSLAPartitions: "5",
		SettingSingleActiveConsumer: "off", SettingListenToYourself: "on", SettingPublishFault: "on"}
	s, err = parseSettings(service.Config{Settings: on})
	want := contracts.Variant{TranslationV1: true, SLAQueues: contracts.SLAQueuesPartitioned, SLAPartitions: 5,
		NoSingleActiveConsumer: true, ListenToYourself: true, Faults: true}
	if err != nil || s.variant != want {
		t.Fatalf("on: %+v %v, want %+v", s.variant, err, want)
	}
	off := map[string]string{SettingTranslationV1: "off", SettingSLAQueues: contracts.SLAQueuesChanges,
		SettingSingleActiveConsumer: "on", SettingListenToYourself: "off", SettingPublishFault: "off"}
	s, err = parseSettings(service.Config{Settings: off})
	if err != nil || s.variant != (contracts.Variant{SLAQueues: contracts.SLAQueuesChanges}) {
		t.Fatalf("off: %+v %v", s.variant, err)
	}
	for k, v := range map[string]string{SettingTranslationV1: "maybe", SettingSLAQueues: "sharded", SettingSLAPartitions: "0"} {
		if _, err := parseSettings(service.Config{Settings: map[string]string{k: v}}); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
}

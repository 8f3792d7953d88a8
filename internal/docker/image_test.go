package docker

import "testing"

func TestCheckImage(t *testing.T) {
	for ref, ok := range map[string]bool{
		"quay.io/argoproj/argocli:v3.7.9":                    true,
		"argo-cred:dev":                                      true,
		"localhost:5000/team/argocli":                        true,
		"ghcr.io/argo-cred/argo-cred-action@sha256:" + hex64: true,
		"argocli:v3.7.9@sha256:" + hex64:                     true,
		"--volume=/:/host":                                   false,
		"-v":                                                 false,
		"argocli --privileged":                               false,
		"Argocli":                                            false,
		"argocli:":                                           false,
		"":                                                   false,
		"argocli\n--privileged":                              false,
		"quay.io/argoproj/argocli:v3.7.9 ":                   false,
	} {
		if err := CheckImage(ref); (err == nil) != ok {
			t.Errorf("CheckImage(%q) = %v; want ok %t", ref, err, ok)
		}
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/*
 * fuzz_conf: jeebs.conf text through conf_parse(), the parser conf_load()
 * uses once the file is read.  A configuration it accepts is walked the way
 * the daemon uses it.
 */
#include <stdint.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = NULL;
	char err[512], a[64];
	size_t i;
	int j;

	if (size > CONF_MAX_SIZE)
		return 0;
	err[0] = '\0';
	if (conf_parse((const char *)data, size, "fuzz.conf", &c, err,
	    sizeof(err)) != 0) {
		FUZZ_CHECK(c == NULL);
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		return 0;
	}
	FUZZ_CHECK(c != NULL);
	FUZZ_CHECK(c->nservers <= CONF_MAX_SERVERS);
	(void)conf_addr_str(&c->export_addr, a, sizeof(a));
	for (i = 0; i < c->nservers; i++) {
		const struct conf_server *s = &c->servers[i];

		FUZZ_CHECK(conf_name_valid(s->name));
		FUZZ_CHECK(conf_server_index(c, s->name) == (int)i);
		FUZZ_CHECK(s->nports >= 0 && s->nports <= CONF_MAX_PORTS);
		FUZZ_CHECK(s->nexport_from >= 0 &&
		    s->nexport_from <= CONF_MAX_EXPORT_FROM);
		(void)conf_addr_str(&s->service_ip, a, sizeof(a));
		for (j = 0; j < s->nexport_from; j++) {
			(void)conf_addr_str(&s->export_from[j], a, sizeof(a));
			FUZZ_CHECK(conf_server_export_from(s,
			    &s->export_from[j]));
		}
		(void)conf_recover_str(s->recover);
		if (s->recover == CONF_RECOVER_SSH) {
			FUZZ_CHECK(s->ssh.sshd != NULL);
			FUZZ_CHECK(s->ssh.sshd_config != NULL);
			FUZZ_CHECK(s->ssh.notice != NULL);
			FUZZ_CHECK(strlen(s->ssh.notice) <= CONF_NOTICE_MAX);
		}
	}
	conf_free(c);
	return 0;
}

/*
 * driver: replays files through a harness without libFuzzer, so that `make
 * check` runs every corpus and regression input with any compiler.  Each
 * argument is a file or a directory (its regular files, not recursive).
 * Exit 0 if every input ran; a crash aborts, as under libFuzzer.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int
run_file(const char *path)
{
	FILE *f;
	uint8_t *p;
	long n;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	/* A private copy of exactly n bytes: ASan sees any overread. */
	if ((p = malloc(n > 0 ? (size_t)n : 1)) == NULL ||
	    fread(p, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(p);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "%s (%ld bytes)\n", path, n);
	LLVMFuzzerTestOneInput(p, (size_t)n);
	free(p);
	return 0;
}

int
main(int argc, char **argv)
{
	struct stat sb;
	struct dirent **ents;
	char path[4096];
	int i, j, n, files = 0, bad = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &sb) != 0) {
			perror(argv[i]);
			bad++;
			continue;
		}
		if (!S_ISDIR(sb.st_mode)) {
			bad += run_file(argv[i]) != 0;
			files++;
			continue;
		}
		if ((n = scandir(argv[i], &ents, NULL, alphasort)) < 0) {
			perror(argv[i]);
			bad++;
			continue;
		}
		for (j = 0; j < n; j++) {
			snprintf(path, sizeof(path), "%s/%s", argv[i],
			    ents[j]->d_name);
			if (ents[j]->d_name[0] != '.' && stat(path, &sb) == 0 &&
			    S_ISREG(sb.st_mode)) {
				bad += run_file(path) != 0;
				files++;
			}
			free(ents[j]);
		}
		free(ents);
	}
	printf("%s: %d inputs, %d unreadable\n", argv[0], files, bad);
	return bad ? 1 : 0;
}

/* openapi.c: openapi.yaml, embedded into the binary at compile time. */
#include <stddef.h>

/*
 * The file is pulled in by the assembler (.incbin) from LEINDEX_OPENAPI_PATH, the source tree's
 * openapi.yaml, so the binary serves it wherever it runs (a slim container has no source tree)
 * and there is one copy of the contract only.
 */
__asm__(".section .rodata\n"
	".global api_openapi_text\n"
	".type api_openapi_text, @object\n"
	".balign 16\n"
	"api_openapi_text:\n"
	".incbin \"" LEINDEX_OPENAPI_PATH "\"\n"
	"api_openapi_end:\n"
	".byte 0\n"
	".balign 8\n"
	".global api_openapi_len\n"
	".type api_openapi_len, @object\n"
	"api_openapi_len:\n"
	".quad api_openapi_end - api_openapi_text\n"
	".previous\n");

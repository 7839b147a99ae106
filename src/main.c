/* main.c - picks the command: the Lambda runtime when Lambda starts us, else
 * one of the CLI's (cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (argc == 1 && api && *api)
        return cli_lambda(api);
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } commands[] = {
        { "tile", cli_tile },
        { "request", cli_request },
        { "stats", cli_stats },
        { "pyramid", cli_pyramid },
        { "serve", cli_serve },
        { "invoke", cli_invoke },
    };
    for (size_t i = 0; argc >= 2 && i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc, argv);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
                      !strcmp(argv[1], "help"))) {
        fputs(cli_usage, stdout);
        return 0;
    }
    fputs(cli_usage, stderr);
    return 2;
}

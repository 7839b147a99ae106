# shellcheck shell=bash
# lambda_env.sh - the environment AWS Lambda gives a provided.al2023 function, for
# the tests and benchmarks that run bootstrap as Lambda would. Source it, then:
#   lambda_vars API TASK_ROOT   fills the array LAMBDA_VARS with NAME=VALUE words:
#                               the reserved variables (AWS_EXECUTION_ENV left out,
#                               as for the provided runtimes; no credentials), with
#                               AWS_LAMBDA_RUNTIME_API=API and LAMBDA_TASK_ROOT=TASK_ROOT.
# Use: env [-i] "${LAMBDA_VARS[@]}" COGTILER_CONFIG=... BOOTSTRAP
# shellcheck disable=SC2016 # $LATEST is literal
# shellcheck disable=SC2034 # LAMBDA_VARS is for the caller
lambda_vars() {
    LAMBDA_VARS=(
        _HANDLER=cogtiler
        AWS_LAMBDA_RUNTIME_API="$1"
        AWS_LAMBDA_FUNCTION_NAME=cogtiler-test
        AWS_LAMBDA_FUNCTION_VERSION='$LATEST'
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024
        AWS_LAMBDA_INITIALIZATION_TYPE=on-demand
        AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/cogtiler-test
        AWS_LAMBDA_LOG_STREAM_NAME='2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef'
        AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
        LAMBDA_TASK_ROOT="$2" LAMBDA_RUNTIME_DIR=/var/runtime
        TZ=:UTC LANG=en_US.UTF-8
    )
}

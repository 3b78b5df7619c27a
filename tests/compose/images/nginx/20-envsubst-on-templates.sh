#!/bin/sh
# As the official nginx image's script of the same name: render every
# $NGINX_ENVSUBST_TEMPLATE_DIR/*$NGINX_ENVSUBST_TEMPLATE_SUFFIX into
# $NGINX_ENVSUBST_OUTPUT_DIR, replacing only variables that are set (nginx's
# own $variables stay as they are).
set -eu
template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
[ -d "$template_dir" ] || exit 0
if [ ! -w "$output_dir" ]; then
  echo "$0: ERROR: $template_dir exists, but $output_dir is not writable" >&2
  exit 0
fi
defined_envs=$(printf '${%s} ' $(env | cut -d= -f1))
for template in "$template_dir"/*"$suffix"; do
  [ -f "$template" ] || continue
  output="$output_dir/$(basename "$template" "$suffix")"
  echo "$0: Running envsubst on $template to $output"
  envsubst "$defined_envs" < "$template" > "$output"
done

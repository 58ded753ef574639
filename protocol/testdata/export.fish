set -gx GCORE_CUSTOM_HEADERS 'Authorization: Bearer eyJ.x.y'
set -gx GCORE_ACCESS_TOKEN '42_a$b\'c"d\\e'
set -gx GCORE_TOKEN_EXPIRES_AT '2026-01-02T15:04:05Z'
set -gx GCORE_BASE_URL 'https://api.gcore.com'
set -gx ODD_VALUE 'line1
line2 ’ $(id) `id` é'

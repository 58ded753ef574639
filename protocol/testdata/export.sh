export GCORE_CUSTOM_HEADERS='Authorization: Bearer eyJ.x.y'
export GCORE_ACCESS_TOKEN='42_a$b'\''c"d\e'
export GCORE_TOKEN_EXPIRES_AT='2026-01-02T15:04:05Z'
export GCORE_BASE_URL='https://api.gcore.com'
export ODD_VALUE='line1
line2 ’ $(id) `id` é'

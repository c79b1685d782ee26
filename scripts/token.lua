-- wrk script: token requests that rotate through the Basic credentials in $CREDENTIALS_FILE.
local credentials = {}
for line in io.lines(os.getenv("CREDENTIALS_FILE")) do
  credentials[#credentials + 1] = line
end
local next_index = 0

request = function()
  next_index = next_index % #credentials + 1
  local headers = {
    ["Authorization"] = credentials[next_index],
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  return wrk.format("POST", nil, headers, "grant_type=client_credentials")
end

-- wrk script: pixel requests with a realistic spread of pages, referrers and user agents.
local app = os.getenv("FOOTFALL_BENCH_APP") or "00000000-0000-4000-8000-000000000000"
local agents = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
  "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
}
local referrers = { "", "https%3A%2F%2Fwww.google.com%2F", "https%3A%2F%2Fnews.ycombinator.com%2F", "https%3A%2F%2Fchatgpt.com%2F", "https%3A%2F%2Ft.co%2Fabc" }
local counter = 0
request = function()
  counter = counter + 1
  local page = "%2Fblog%2Fpost-" .. (counter % 97)
  local path = "/p.gif?app=" .. app .. "&path=" .. page .. "&title=Post%20" .. (counter % 97) ..
    "&platform=Win32&language=en-US&screensize=1920x1080&pixelratio=1.5&referrer=" .. referrers[counter % #referrers + 1]
  local headers = { ["User-Agent"] = agents[counter % #agents + 1], ["Referer"] = "https://site.example/" }
  return wrk.format("GET", path, headers)
end

-- FOOTFALL_BENCH_DELAY_MS: each connection waits this long between requests (a set rate: with c
-- connections about c * 1000 / delay requests a second, as bench/ingest.py --lag uses it)
local pause = tonumber(os.getenv("FOOTFALL_BENCH_DELAY_MS") or "")
if pause then
  delay = function() return pause end
end

-- wrk script: a random search per request (word prefixes in English and Korean, 1-3 words,
-- pages 0-3), so that most requests miss the search cache. Counts non-200 answers.
local words = {"b", "bl", "blue", "red", "gr", "green", "navy", "co", "coral", "cer", "ceramic", "wo", "wooden",
  "st", "steel", "gl", "glass", "lin", "leather", "ba", "bamboo", "mug", "pl", "plate", "cup", "bowl", "la", "lamp",
  "ch", "chair", "ta", "table", "vase", "tray", "bag", "sc", "scarf", "pillow", "bla", "blanket", "note", "pen",
  "clock", "mi", "mirror", "bask", "candle", "teap", "%EB%A8%B8%EA%B7%B8", "%EC%BB%B5", "%EC%9D%98%EC%9E%90",
  "%EA%B0%80%EB%B0%A9", "1", "12", "123", "9999"}
dofile("bench/ok.lua")
math.randomseed(os.time())
request = function()
  local n = math.random(1, 3)
  local q = {}
  for i = 1, n do q[i] = words[math.random(#words)] end
  local path = string.format("/api/v1/products?q=%s&page=%d&size=20", table.concat(q, "%20"), math.random(0, 3))
  return wrk.format("GET", path)
end

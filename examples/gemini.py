import fieldstream, pydantic


class CityLocation(pydantic.BaseModel):
    city: str
    country: str


answer = fieldstream.stream(None, CityLocation, provider="gemini", model="gemini-3-flash-preview", prompt="Where?")
for event in answer:
    print(event)
print(answer.final)

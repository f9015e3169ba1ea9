import fieldstream, openai, pydantic


class Location(pydantic.BaseModel):
    city: str
    temperature: int
    units: str


answer = fieldstream.stream(openai.OpenAI(), Location, model="gpt-4o", prompt="What's the weather in SF?")
for event in answer:
    print(event)
print(answer.final)

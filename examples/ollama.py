import fieldstream, pydantic


class Country(pydantic.BaseModel):
    name: str
    capital: str
    languages: list[str]


answer = fieldstream.stream(None, Country, provider="ollama", model="llama3.2", prompt="Tell me about Canada.")
for event in answer:
    print(event)
print(answer.final)

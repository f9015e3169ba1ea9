import fieldstream, openai, pydantic


class Dog(pydantic.BaseModel):
    name: str
    age: int
    bio: str


answer = fieldstream.stream(openai.OpenAI(), Dog, provider="openai-responses", model="gpt-4o-mini", prompt="A dog")
for event in answer:
    print(event)
print(answer.final)

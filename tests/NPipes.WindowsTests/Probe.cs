namespace NPipes.WindowsTests;
public class Probe { [Fact] public void P() { Assert.SkipWhen(false, "x"); Assert.SkipUnless(true, "y"); } }
